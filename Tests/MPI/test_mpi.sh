#!/usr/bin/env bash
# Data-parallel fit under mpirun on this machine's loopback (make test-mpi): C (test_mpi.c)
# and Python (mpi_fit.py) at 2 and 3 ranks (3: uneven shards) against one process; the sine
# job's loss on 2 ranks; a rank that dies (mpirun ends the job; the checkpoint rank 0 keeps
# saving stays a whole file) and one that stalls (rank 0's sum times out with a clear error).
# Each rank runs one thread (LSTM_NUM_THREADS=1): 3 ranks already oversubscribe 2 cores.
# Usage (from the repository root, after make mpi and make venv): Tests/MPI/test_mpi.sh
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Containers forbid the cross-process memory reads Open MPI's shared-memory transport tries first.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpirun=(mpirun --allow-run-as-root --oversubscribe -x LSTM_NUM_THREADS=1 -x LSTM_LIBRARY="$PWD/build/liblstm.so")
py=build/venv/bin/python
passed=0 inner=0  # this script's checks, and those inside the programs it ran
pass() { passed=$((passed + 1)); echo "  ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

for np in 2 3; do
  timeout 300 "${mpirun[@]}" -np $np build/test_mpi > "$work/c$np.txt" 2>&1 || { cat "$work/c$np.txt"; fail "C, $np ranks"; }
  grep -q "^MPI ($np ranks): [0-9]* passed, 0 failed" "$work/c$np.txt" || { cat "$work/c$np.txt"; fail "C, $np ranks"; }
  sed 's/^/    /' "$work/c$np.txt"
  pass "C, $np ranks: $(grep "^MPI" "$work/c$np.txt")"
  inner=$((inner + $(sed -n 's/^MPI ([0-9]* ranks): \([0-9]*\) passed.*/\1/p' "$work/c$np.txt")))
  timeout 300 "${mpirun[@]}" -np $np "$py" Tests/MPI/mpi_fit.py > "$work/py$np.txt" 2>&1 || { cat "$work/py$np.txt"; fail "Python, $np ranks"; }
  grep -q "^python MPI ($np ranks): [0-9]* passed, 0 failed" "$work/py$np.txt" || { cat "$work/py$np.txt"; fail "Python, $np ranks"; }
  sed 's/^/    /' "$work/py$np.txt"
  pass "Python, $np ranks: $(grep "^python MPI" "$work/py$np.txt")"
  inner=$((inner + $(sed -n 's/^python MPI ([0-9]* ranks): \([0-9]*\) passed.*/\1/p' "$work/py$np.txt")))
done

# The user's sine job on 2 ranks reaches the loss one process reaches (build/sine: ~7e-6).
timeout 300 "${mpirun[@]}" -np 2 build/sine_mpi 20 "$work/sine.keras" > "$work/sine.txt" 2>&1 || { cat "$work/sine.txt"; fail "sine job"; }
loss=$(sed -n 's/.*final training loss \([^,]*\),.*/\1/p' "$work/sine.txt")
awk -v l="$loss" 'BEGIN { exit !(l < 5e-5) }' || fail "the sine job on 2 ranks ends at loss $loss"
[ -s "$work/sine.keras" ] && build/lstm info "$work/sine.keras" > /dev/null || fail "rank 0 saved no readable model"
pass "$(grep "^sine job" "$work/sine.txt")"

# The W4-sized model from C, data-parallel (its equivalence with one process: mpi_fit.py).
timeout 300 "${mpirun[@]}" -np 2 build/sine_mpi w4 3 > "$work/w4.txt" 2>&1 || { cat "$work/w4.txt"; fail "W4 on 2 ranks"; }
pass "$(grep "^W4" "$work/w4.txt")"

# A rank killed mid-fit: mpirun ends the job at once, and rank 0's checkpoint (saved after each
# epoch, atomically) is a whole model.
start=$(date +%s)
if timeout 120 "${mpirun[@]}" -np 2 -x TEST_MPI_DIE=1 build/test_mpi "$work/checkpoint.keras" > "$work/die.txt" 2>&1; then
  fail "the job went on after a rank died"
fi
took=$(( $(date +%s) - start ))
[ "$took" -lt 60 ] || fail "the job took $took s to end after a rank died"
grep -q "exited on signal 9" "$work/die.txt" || { cat "$work/die.txt"; fail "mpirun did not say a rank was killed"; }
build/lstm info "$work/checkpoint.keras" > /dev/null || fail "the checkpoint is not a whole model after the kill"
pass "a killed rank ends the job in $took s (mpirun: \"$(grep -o 'process rank 1.*signal 9' "$work/die.txt" | head -1)\"); the checkpoint loads"

# A rank that stalls (stopped, not dead: mpirun sees nothing): the others' sums time out.
for who in C Python; do
  cmd=(build/test_mpi); [ "$who" = Python ] && cmd=("$py" Tests/MPI/mpi_fit.py)
  start=$(date +%s)
  if timeout 120 "${mpirun[@]}" -np 2 -x TEST_MPI_STALL=1 -x LSTM_MPI_TIMEOUT=3 "${cmd[@]}" > "$work/stall.txt" 2>&1; then
    fail "$who: the job went on after a rank stalled"
  fi
  took=$(( $(date +%s) - start ))
  grep -q "rank 0: fit r.*no answer from the other ranks within 3 s" "$work/stall.txt" || { cat "$work/stall.txt"; fail "$who: no timeout error on rank 0"; }
  [ "$took" -lt 60 ] || fail "$who: the timeout took $took s"
  pass "$who: a stalled rank makes rank 0's fit fail after the 3 s timeout (job over in $took s): $(grep -o 'LSTM_ERROR_IO\|OSError' "$work/stall.txt" | head -1)"
done
echo "mpi: $((passed + inner)) passed, 0 failed ($passed here, $inner inside the MPI programs)"
