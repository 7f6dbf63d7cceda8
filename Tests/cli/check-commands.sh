#!/usr/bin/env bash
# End-to-end checks of the built executables, as a user runs them. Each check prints
# "ok" or "FAILED" with what it saw; the last line is "N passed, N failed".
# Usage: Tests/cli/check-commands.sh BIN_DIR
set -uo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { echo "ok      $1"; passed=$((passed + 1)); }
bad() { echo "FAILED  $1"; shift; for line in "$@"; do echo "        $line"; done; failed=$((failed + 1)); }

# expect_error NAME EXPECTED_SUBSTRING COMMAND…: non-zero exit, exactly one line on
# stderr containing the substring, nothing from HDF5's own error printer.
expect_error() {
    local name=$1 needle=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    local status=$?
    local lines
    lines=$(wc -l <"$work/err")
    if [ "$status" -ne 0 ] && [ "$lines" -eq 1 ] && grep -qF -- "$needle" "$work/err" && ! grep -q "HDF5-DIAG" "$work/err" "$work/out"; then
        ok "$name: $(cat "$work/err")"
    else
        bad "$name" "exit $status, $lines line(s) on stderr, expected one containing '$needle':" "$(head -5 "$work/err")"
    fi
}

# Walkthrough 01 in --quick mode: every verdict as expected, file written.
data="$work/data"
if "$bin/01-score-functions" --quick --data-dir "$data" >"$work/w01.txt" 2>&1; then
    ok "01-score-functions --quick: $(grep -E 'checks passed' "$work/w01.txt")"
else
    bad "01-score-functions --quick exited non-zero" "$(grep -E 'UNEXPECTED|Unexpected|error' "$work/w01.txt" | head -5)"
fi
h5="$data/01-score-functions.h5"

# h5py reads the file with the shapes of the math and str attributes.
if python3 Tests/interop/check_h5py.py "$h5" --require-as-expected \
    --expect /model/Phi=2x2 --expect /model/Sigma=2x2 --expect /model/Gamma=2x2 --expect /model/P=10x10 \
    --expect /theory/J=6x6 --expect /theory/hermite_coefficients=7x7 --expect /samples/x=5x5x2 \
    --expect /moments/stein_sin_S4=2x2x2x2 --expect /moments/stein_sin_S_t_tm1_tm1=2x2x2 >"$work/py.txt" 2>&1; then
    ok "h5py reads $(basename "$h5"): $(tail -1 "$work/py.txt")"
else
    bad "h5py check of $(basename "$h5")" "$(tail -8 "$work/py.txt")"
fi

# Walkthrough 02 in --quick mode, and h5py on its file.
if "$bin/02-glm" --quick --data-dir "$data" >"$work/w02.txt" 2>&1; then
    ok "02-glm --quick: $(grep -E 'checks passed' "$work/w02.txt")"
else
    bad "02-glm --quick exited non-zero" "$(grep -E 'UNEXPECTED|Unexpected|error' "$work/w02.txt" | head -5)"
fi
if python3 Tests/interop/check_h5py.py "$data/02-glm.h5" --require-as-expected \
    --expect /model/A1=3x6 --expect /model/A2=3x4 --expect /moments/second=4x6x6 --expect /theory/second=4x6x6 \
    --expect /moments/first=4x6 --expect /estimate/A1=3x6 >"$work/py2.txt" 2>&1; then
    ok "h5py reads 02-glm.h5: $(tail -1 "$work/py2.txt")"
else
    bad "h5py check of 02-glm.h5" "$(tail -8 "$work/py2.txt")"
fi

# Same seed, same flags: the same datasets, bit for bit.
"$bin/01-score-functions" --quick --data-dir "$work/again" >/dev/null 2>&1
if python3 Tests/interop/compare_datasets.py "$h5" "$work/again/01-score-functions.h5" >"$work/cmp.txt" 2>&1; then
    ok "01-score-functions is reproducible: $(tail -1 "$work/cmp.txt")"
else
    bad "01-score-functions is not reproducible" "$(tail -5 "$work/cmp.txt")"
fi

# spectral-rnn inspect on a good file and on bad input.
if "$bin/spectral-rnn" inspect "$h5" >"$work/tree.txt" 2>&1 && grep -q "Phi" "$work/tree.txt"; then
    ok "spectral-rnn inspect FILE lists the tree"
else
    bad "spectral-rnn inspect FILE" "$(head -5 "$work/tree.txt")"
fi
if "$bin/spectral-rnn" inspect "$h5" /model/Phi >"$work/phi.txt" 2>&1 && grep -q "2×2" "$work/phi.txt"; then
    ok "spectral-rnn inspect FILE /model/Phi shows the dataset"
else
    bad "spectral-rnn inspect FILE /model/Phi" "$(head -5 "$work/phi.txt")"
fi
echo "not an HDF5 file" >"$work/text.h5"
expect_error "inspect: missing file" "no such file" "$bin/spectral-rnn" inspect "$work/missing.h5"
expect_error "inspect: not HDF5" "not an HDF5 file" "$bin/spectral-rnn" inspect "$work/text.h5"
expect_error "inspect: missing path" "/model/nothing" "$bin/spectral-rnn" inspect "$h5" /model/nothing
expect_error "01-score-functions: bad --samples" "--samples" "$bin/01-score-functions" --quick --samples 1 --data-dir "$work/bad"
expect_error "01-score-functions: data folder is a file" "names a file, not a folder" "$bin/01-score-functions" --quick --data-dir "$work/text.h5"
expect_error "02-glm: unknown flag" "Unknown option" "$bin/02-glm" --quick --bogus

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
