#!/usr/bin/env bash
# `make` while a program has the library loaded (make test-rebuild). A program holding
# build/liblstm.so (a notebook, a long fit, a test in another terminal) must keep running and
# give the same answers while `make` replaces the library under it, and a `make` with nothing
# changed must not touch the file at all.
#
# The library in build/ is first swapped for a copy that differs from what the sources build
# (the same library stripped: an older build as far as make can tell), a Python process loads
# it through ctypes and predicts, `make lib` then puts the real build in place while that
# process goes on predicting. The checks: make wrote a new file (a new inode, renamed over the
# old name) instead of rewriting the mapped one in place; the process ran to its end with the
# answer it gave before; build/ then holds exactly the fresh build; a second `make lib` leaves
# the file as it was (same inode, same modification time).
# Usage (from the repository root, after make lib): Tests/Install/test_rebuild.sh
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
passed=0
pass() { passed=$((passed + 1)); echo "ok: $*"; }
MAKE=${MAKE:-make}
lib=$(readlink -f build/liblstm.so)
work=$(mktemp -d)
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$work"' EXIT

# An older library at build/'s name, put there by rename as a build would have left it.
strip --strip-all -o "$lib.old" "$lib"
mv -f "$lib.old" "$lib"
cmp -s "$lib" "$($MAKE -s --no-print-directory print-lib-build-output)" && fail "the stand-in for an older build equals the fresh build"
inode_before=$(stat -c %i "$lib")

# The holder: loads the library, predicts, says "ready", then predicts until told to stop and
# reports whether every answer equalled the first.
mkfifo "$work/go"
python3 - "$(pwd)/build/liblstm.so" "$work/go" > "$work/holder.out" 2>&1 <<'PY' &
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.lstm_model_from_json.argtypes = [ctypes.c_char_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_void_p)]
lib.lstm_model_predict.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                                   ctypes.c_size_t, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]
lib.lstm_last_error.restype = ctypes.c_char_p
config = (b'{"class_name": "Sequential", "config": {"name": "s", "layers": ['
          b'{"class_name": "InputLayer", "config": {"batch_shape": [null, 20, 3]}},'
          b'{"class_name": "LSTM", "config": {"name": "lstm", "units": 32}},'
          b'{"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}')
model = ctypes.c_void_p()
assert lib.lstm_model_from_json(config, 7, ctypes.byref(model)) == 0, lib.lstm_last_error()
x = (ctypes.c_float * (4 * 20 * 3))(*[((i * 37) % 11) / 11.0 - 0.5 for i in range(4 * 20 * 3)])
def predict():
    y = (ctypes.c_float * 8)()
    assert lib.lstm_model_predict(model, x, 4, 20, y, 8) == 0, lib.lstm_last_error()
    return list(y)
first = predict()
print("ready", flush=True)
with open(sys.argv[2]) as go:  # blocks until the test opens the other end: make is done
    go.read()
same = all(predict() == first for _ in range(200))
print("same answers" if same else "DIFFERENT answers", first[:2], flush=True)
sys.exit(0 if same else 1)
PY
holder=$!
for _ in $(seq 100); do grep -q ready "$work/holder.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/holder.out" || { cat "$work/holder.out"; fail "the holder did not start"; }

$MAKE -s --no-print-directory lib > "$work/make.out" 2>&1 || { cat "$work/make.out"; fail "make lib"; }
grep -q "updated build/liblstm.so" "$work/make.out" || { cat "$work/make.out"; fail "make lib did not replace an outdated library"; }
[ "$(stat -c %i "$lib")" != "$inode_before" ] || fail "make lib rewrote the library in place (same inode): a process with it loaded sees the bytes change"
pass "make lib replaced the outdated library by a new file renamed over it (inode $inode_before -> $(stat -c %i "$lib"))"
cmp -s "$lib" "$($MAKE -s --no-print-directory print-lib-build-output)" || fail "build/ does not hold the fresh build"
pass "build/ holds the fresh build"

echo go > "$work/go"
wait "$holder" || { cat "$work/holder.out"; fail "the process that had the library loaded died or changed its answers (status $?)"; }
holder=
grep -q "same answers" "$work/holder.out" || { cat "$work/holder.out"; fail "the holder's answers"; }
pass "the process that had the library loaded kept running and gave the same answers 200 times after make"

inode=$(stat -c %i "$lib"); mtime=$(stat -c %Y.%y "$lib")
$MAKE -s --no-print-directory lib > "$work/make2.out" 2>&1 || { cat "$work/make2.out"; fail "make lib, again"; }
! grep -q "updated" "$work/make2.out" || fail "make lib replaced a library that had not changed"
[ "$(stat -c %i "$lib")" = "$inode" ] && [ "$(stat -c %Y.%y "$lib")" = "$mtime" ] || fail "make lib with nothing changed touched the library"
pass "make lib with nothing changed leaves the library as it was (same inode and time)"

echo "rebuild: $passed passed, 0 failed"
