#!/usr/bin/env bash
# make install, used as a C or C++ programmer would use it (make test-install):
# - the installed tree holds exactly the files expected, the library stripped, with its SONAME
#   link, no RPATH, and the tool runs without the build tree;
# - a C program builds with `pkg-config --cflags --libs lstm` and a C++ program with CMake's
#   find_package(lstm) + lstm.hpp, both against the installed files only, and both run;
# - valgrind with the installed suppressions passes a program that frees what it made, and
#   still reports one that leaks a model;
# - DESTDIR stages the tree with the final prefix in its files; make uninstall leaves no file.
# Usage (from the repository root): Tests/Install/test_install.sh
set -euo pipefail
# (Output is matched as `grep -q pattern <<< "$(command)"`: with pipefail, `command | grep -q`
# fails at random when grep exits before the command has written everything.)
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
passed=0
pass() { passed=$((passed + 1)); echo "  ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
version=$(make -s --no-print-directory print-version)
major=${version%%.*}

make -s --no-print-directory install PREFIX="$prefix" > "$work/install.log"
sed 's/^/  /' "$work/install.log"

# The tree.
expected="bin/lstm
include/lstm.h
include/lstm.hpp
lib/cmake/lstm/lstmConfig.cmake
lib/cmake/lstm/lstmConfigVersion.cmake
lib/liblstm.so
lib/liblstm.so.$major
lib/liblstm.so.$version
lib/pkgconfig/lstm.pc
share/lstm/lstm.supp"
got=$(cd "$prefix" && find . ! -type d | sed 's|^\./||' | sort)
[ "$got" = "$expected" ] || { diff <(echo "$expected") <(echo "$got") >&2; fail "the installed tree differs"; }
pass "installed tree: $(echo "$got" | wc -l) files"
[ "$(readlink "$prefix/lib/liblstm.so")" = "liblstm.so.$major" ] && [ "$(readlink "$prefix/lib/liblstm.so.$major")" = "liblstm.so.$version" ] \
  || fail "the symlinks do not chain liblstm.so -> .so.$major -> .so.$version"
pass "liblstm.so -> liblstm.so.$major -> liblstm.so.$version"
lib="$prefix/lib/liblstm.so.$version"
grep -q "(SONAME).*\[liblstm.so.$major\]" <<< "$(readelf -d "$lib")" || fail "SONAME"
for f in "$lib" "$prefix/bin/lstm"; do
  if readelf -d "$f" | grep -E '\((RPATH|RUNPATH)\)'; then fail "$f has an RPATH"; fi
  if grep -qE '\.symtab|\.debug_info' <<< "$(readelf -S "$f")"; then fail "$f is not stripped"; fi
  if ldd "$f" | grep -iE 'swift|not found'; then fail "$f needs libraries that are not there"; fi
done
grep -q "liblstm.so.$version.debug" <<< "$(readelf -p .gnu_debuglink "$lib")" || fail "no debug link"
pass "library and tool: stripped, no RPATH, no Swift runtime; library $(stat -c %s "$lib") bytes, debug link to liblstm.so.$version.debug"
(cd "$work" && "$prefix/bin/lstm" info "$repo/Tests/Fixtures/files/keras3_stacked_softmax.keras" > info.txt 2>&1) \
  || { cat "$work/info.txt"; fail "the installed tool does not run"; }
grep -q "LSTM" "$work/info.txt" || fail "lstm info does not describe the model"
pass "the installed lstm tool describes a .keras file"

# C through pkg-config, built outside the repository from the installed files.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion lstm)" = "$version" ] || fail "pkg-config --modversion"
mkdir "$work/c" && cp "$repo/examples/quickstart.c" "$work/c/my_program.c"
(cd "$work/c" && cc -std=c99 -Wall -Wextra -pedantic -Werror my_program.c $(pkg-config --cflags --libs lstm) \
   -Wl,-rpath,"$(pkg-config --variable=libdir lstm)" -lm -o my_program)
grep -q "NEEDED.*\[liblstm.so.$major\]" <<< "$(readelf -d "$work/c/my_program")" || fail "the program does not need liblstm.so.$major"
(cd "$work/c" && ./my_program > run.txt) || fail "the pkg-config program fails: $(cat "$work/c/run.txt")"
[ -s "$work/c/my_model.keras" ] || fail "the pkg-config program saved no model"
[ "$(ldd "$work/c/my_program" | sed -n 's/.*liblstm.so.[0-9]* => \([^ ]*\).*/\1/p')" = "$prefix/lib/liblstm.so.$major" ] \
  || fail "the program loads another liblstm"
pass "C with pkg-config: built, ran ($(cat "$work/c/run.txt"))"

# C++ through CMake's find_package and lstm.hpp.
cmake -S "$repo/Tests/Install/cmake" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" > "$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log"; fail "cmake configure"; }
cmake --build "$work/cmake" > "$work/cmake-build.log" 2>&1 || { cat "$work/cmake-build.log"; fail "cmake build"; }
"$work/cmake/cpp_consumer" "$work" | tee "$work/cpp.txt" || fail "the C++ program"
pass "C++ with CMake find_package(lstm 0.2) + lstm.hpp: $(cat "$work/cpp.txt")"
sed "s/find_package(lstm 0.2 REQUIRED)/find_package(lstm $((major + 1)).0 REQUIRED)/" "$repo/Tests/Install/cmake/CMakeLists.txt" > "$work/CMakeLists.txt"
mkdir "$work/too-new" && cp "$work/CMakeLists.txt" "$repo/Tests/Install/cmake/cpp_consumer.cpp" "$work/too-new/"
if cmake -S "$work/too-new" -B "$work/too-new/build" -DCMAKE_PREFIX_PATH="$prefix" > "$work/too-new.log" 2>&1; then
  fail "find_package(lstm $((major + 1)).0) accepted version $version"
fi
pass "find_package(lstm $((major + 1)).0) refuses $version"

# valgrind with the installed suppressions: clean for a program that frees what it made...
if command -v valgrind > /dev/null; then
  (cd "$work/c" && valgrind -q --leak-check=full --error-exitcode=1 --suppressions="$prefix/share/lstm/lstm.supp" \
     ./my_program > /dev/null 2> vg.txt) || { cat "$work/c/vg.txt"; fail "valgrind with the suppressions"; }
  pass "valgrind --leak-check=full --error-exitcode=1 with share/lstm/lstm.supp: no error"
  # ...and still failing one that leaks a model.
  printf '#include <lstm.h>\nint main(void) { lstm_model *m = 0; return lstm_model_from_json("{\\"class_name\\": \\"Sequential\\", \\"config\\": {\\"layers\\": [{\\"class_name\\": \\"InputLayer\\", \\"config\\": {\\"batch_shape\\": [null, 3, 1]}}, {\\"class_name\\": \\"Dense\\", \\"config\\": {\\"units\\": 1}}]}}", 1, &m) == LSTM_OK ? 0 : 2; }\n' > "$work/c/leak.c"
  (cd "$work/c" && cc leak.c $(pkg-config --cflags --libs lstm) -Wl,-rpath,"$prefix/lib" -o leak && ./leak) || fail "the leaking program does not run"
  if (cd "$work/c" && valgrind -q --leak-check=full --error-exitcode=1 --suppressions="$prefix/share/lstm/lstm.supp" ./leak 2> leak-vg.txt); then
    fail "valgrind with the suppressions does not report a leaked model"
  fi
  grep -q "definitely lost" "$work/c/leak-vg.txt" || { cat "$work/c/leak-vg.txt"; fail "the leak is not reported as definitely lost"; }
  pass "a program that leaks a model still fails valgrind with the suppressions (definitely lost)"
fi

# The README's C example is examples/quickstart.c, and its commands work as written from the
# repository root (here a folder that holds the repository's include/, build/ and examples/).
readme_block() { awk -v mark="<!-- $1 -->" '$0 == mark {on = 1; next} on && /^```/ {if (inside) exit; inside = 1; next} inside' "$repo/README.md"; }
[ "$(readme_block examples/quickstart.c)" = "$(cat "$repo/examples/quickstart.c")" ] \
  || fail "the README's C example is not examples/quickstart.c"
commands=$(readme_block "run from the repository root")
[ -n "$commands" ] || fail "no commands in the README to run from the repository root"
mkdir "$work/root" && ln -s "$repo/include" "$repo/build" "$repo/examples" "$work/root/"
(cd "$work/root" && eval "$commands" > readme-run.txt 2>&1) || { cat "$work/root/readme-run.txt"; fail "the README's commands"; }
(cd "$work" && "$work/root/my_program" > /dev/null) || fail "the README's program does not run from another folder"
pass "README: its C example is examples/quickstart.c; its build and run commands work as written, and the program runs from any folder"

# make uninstall: nothing left.
make -s --no-print-directory uninstall PREFIX="$prefix" > /dev/null
left=$(find "$prefix" ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
pass "make uninstall leaves no file under the prefix"

# DESTDIR: staged under DESTDIR, the files name the final prefix; install-dbg adds the debug file.
make -s --no-print-directory install-dbg DESTDIR="$work/stage" PREFIX=/opt/lstm > /dev/null
[ -f "$work/stage/opt/lstm/lib/liblstm.so.$version" ] || fail "DESTDIR staging"
grep -qx "prefix=/opt/lstm" "$work/stage/opt/lstm/lib/pkgconfig/lstm.pc" || fail "the staged lstm.pc names another prefix"
debug="$work/stage/opt/lstm/lib/.debug/liblstm.so.$version.debug"
[ -f "$debug" ] && grep -q '\.debug_info' <<< "$(readelf -S "$debug")" || fail "install-dbg: no debug information"
pass "DESTDIR=stage PREFIX=/opt/lstm: staged, lstm.pc says prefix=/opt/lstm; install-dbg: lib/.debug/liblstm.so.$version.debug ($(stat -c %s "$debug") bytes)"
make -s --no-print-directory uninstall DESTDIR="$work/stage" PREFIX=/opt/lstm > /dev/null
[ -z "$(find "$work/stage" ! -type d)" ] || fail "uninstall with DESTDIR left files"

echo "install: $passed passed, 0 failed"
