#!/usr/bin/env bash
# End-to-end checks of the built executables, as a user runs them. Each check prints
# "ok" or "FAILED" with what it saw; the last line is "N passed, N failed".
# Usage: Tests/cli/check-commands.sh BIN_DIR
set -uo pipefail
bin=$(cd "$1" && pwd)
work=$(mktemp -d)
# The tmpfs mounts of the full-disk and read-only checks are undone before the folder goes.
trap 'for m in "$work"/hostile/full "$work"/hostile/readonly; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done; rm -rf "$work"' EXIT
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

# expect_threads_identical NAME REFERENCE FIT_ARGUMENTS…: `fit FIT_ARGUMENTS --threads 1`
# and `--threads 7` write the same bits as REFERENCE (written at the default 2), apart
# from the root attribute that records the thread count.
expect_threads_identical() {
    local name=$1 reference=$2 threads
    shift 2
    for threads in 1 7; do
        if ! "$bin/spectral-rnn" fit "$@" --threads "$threads" --output "$work/threads-$threads.h5" >/dev/null 2>"$work/threads-err.txt"; then
            bad "$name: fit --threads $threads failed" "$(head -3 "$work/threads-err.txt")"
            return
        fi
        if ! python3 Tests/interop/compare_datasets.py --ignore-root threads "$reference" "$work/threads-$threads.h5" >"$work/threads.txt" 2>&1; then
            bad "$name: --threads $threads differs from --threads 2" "$(tail -4 "$work/threads.txt")"
            return
        fi
    done
    ok "$name: --threads 1, 2 and 7 write the same bits ($(tail -1 "$work/threads.txt"))"
}

# Walkthrough 01 in --quick mode: every verdict as expected, file written.
data="$work/data"
if "$bin/01-score-functions" --quick --data-dir "$data" >"$work/w01.txt" 2>&1; then
    ok "01-score-functions --quick: $(grep -E ' confirmed; ' "$work/w01.txt")"
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
    ok "02-glm --quick: $(grep -E ' confirmed; ' "$work/w02.txt")"
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

# Walkthrough 03 in --quick mode, and h5py on its file.
if "$bin/03-quadratic-iornn" --quick --data-dir "$data" >"$work/w03.txt" 2>&1; then
    ok "03-quadratic-iornn --quick: $(grep -E ' confirmed; ' "$work/w03.txt")"
else
    bad "03-quadratic-iornn --quick exited non-zero" "$(grep -E 'UNEXPECTED|Unexpected|error|diverged' "$work/w03.txt" | head -5)"
fi
if python3 Tests/interop/check_h5py.py "$data/03-quadratic-iornn.h5" --require-as-expected \
    --expect /model/A1=3x4 --expect /model/U=3x3 --expect /model/A2=3x4 --expect /moments/second=4x4x4 \
    --expect /moments/mixed=4x4x4x4 --expect /theory/mixed=4x4x4x4 --expect /moments/fourth_order=3x3x3x3x3 \
    --expect /estimate/U=3x3 >"$work/py3.txt" 2>&1; then
    ok "h5py reads 03-quadratic-iornn.h5: $(tail -1 "$work/py3.txt")"
else
    bad "h5py check of 03-quadratic-iornn.h5" "$(tail -8 "$work/py3.txt")"
fi

# Walkthrough 04 in --quick mode, and h5py on its file.
if "$bin/04-polynomial" --quick --data-dir "$data" >"$work/w04.txt" 2>&1; then
    ok "04-polynomial --quick: $(grep -E ' confirmed; ' "$work/w04.txt")"
else
    bad "04-polynomial --quick exited non-zero" "$(grep -E 'UNEXPECTED|Unexpected|error|diverged' "$work/w04.txt" | head -5)"
fi
if python3 Tests/interop/check_h5py.py "$data/04-polynomial.h5" --require-as-expected \
    --expect /model/A1=2x3 --expect /model/U=2x2 --expect /model/A2=2x3 --expect /model/activation=4 \
    --expect /moments/leading=3x3x3x3 --expect /theory/leading=3x3x3x3 --expect /moments/mixed_projected_true_duals=2x2 \
    --expect /moments/scalar_leading=1x3x3x3 --expect /estimate/U=2x2 --expect /theory/u_moment_standard_error=8x4 \
    >"$work/py4.txt" 2>&1; then
    ok "h5py reads 04-polynomial.h5: $(tail -1 "$work/py4.txt")"
else
    bad "h5py check of 04-polynomial.h5" "$(tail -8 "$work/py4.txt")"
fi

# Walkthrough 05 in --quick mode, and h5py on its file.
if "$bin/05-bidirectional" --quick --data-dir "$data" >"$work/w05.txt" 2>&1; then
    ok "05-bidirectional --quick: $(grep -E ' confirmed; ' "$work/w05.txt")"
else
    bad "05-bidirectional --quick exited non-zero" "$(grep -E 'UNEXPECTED|Unexpected|error|diverged' "$work/w05.txt" | head -5)"
fi
if python3 Tests/interop/check_h5py.py "$data/05-bidirectional.h5" --require-as-expected \
    --expect /model/A1=2x5 --expect /model/U=2x2 --expect /model/B1=2x5 --expect /model/V=2x2 --expect /model/A2=4x5 \
    --expect /moments/second=5x5x5 --expect /moments/past_projected_true_duals=4x4 --expect /moments/future_projected_true_duals=4x4 \
    --expect /assignment/scores=2x4 --expect /assignment/magnitudes=4x4 --expect /estimate/V=2x2 --expect /estimate/error_slopes=7x7 \
    >"$work/py5.txt" 2>&1; then
    ok "h5py reads 05-bidirectional.h5: $(tail -1 "$work/py5.txt")"
else
    bad "h5py check of 05-bidirectional.h5" "$(tail -8 "$work/py5.txt")"
fi
# Walkthrough 06 in --quick mode, and h5py on its file (with the second implementation of its summaries).
if "$bin/06-concentration" --quick --data-dir "$data" >"$work/w06.txt" 2>&1; then
    ok "06-concentration --quick: $(grep -E ' confirmed; ' "$work/w06.txt")"
else
    bad "06-concentration --quick exited non-zero" "$(grep -E 'UNEXPECTED|Unexpected|error|diverged' "$work/w06.txt" | head -5)"
fi
if python3 Tests/interop/check_h5py.py "$data/06-concentration.h5" --require-as-expected \
    --expect /model/A1=2x3 --expect /model/U=2x2 --expect /model/A2=2x3 --expect /theory/moment=3x9 \
    --expect /theory/chain_bounds=5x7 --expect /moments/chain_deviations=5x40 --expect /theory/slopes=5 \
    --expect /moments/lipschitz=2x8 --expect /moments/mixing=4x5 --expect /moments/lemma10_ratios=12x5 \
    --expect /moments/window_deviations=2x11 --expect /moments/maxima_against_n=4x7 \
    >"$work/py6.txt" 2>&1; then
    ok "h5py reads 06-concentration.h5: $(tail -1 "$work/py6.txt")"
else
    bad "h5py check of 06-concentration.h5" "$(tail -8 "$work/py6.txt")"
fi
# Walkthrough 07 in --quick mode, and h5py on its file.
if "$bin/07-spectral-vs-gradient" --quick --data-dir "$data" >"$work/w07.txt" 2>&1; then
    ok "07-spectral-vs-gradient --quick: $(grep -E ' confirmed; ' "$work/w07.txt")"
else
    bad "07-spectral-vs-gradient --quick exited non-zero" "$(grep -E 'UNEXPECTED|Unexpected|error|diverged' "$work/w07.txt" | head -5)"
fi
if python3 Tests/interop/check_h5py.py "$data/07-spectral-vs-gradient.h5" --require-as-expected \
    --expect /model/A1=3x4 --expect /model/U=3x3 --expect /model/A2=3x5 --expect /gradient/bptt=36 \
    --expect /gradient/finite_differences=36 --expect /gradient/truncated=36 --expect /gradient/check_point=36 --expect /gradient/x=64x32x4 --expect /summary/methods=6x2 \
    >"$work/py7.txt" 2>&1; then
    ok "h5py reads 07-spectral-vs-gradient.h5: $(tail -1 "$work/py7.txt")"
else
    bad "h5py check of 07-spectral-vs-gradient.h5" "$(tail -8 "$work/py7.txt")"
fi
python3 - "$data/06-concentration.h5" "$work/median-off.h5" <<'PY'
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "a") as f:
    f["/theory/chain_bounds"][2, 1] *= 1.001
PY
if python3 Tests/interop/check_h5py.py "$work/median-off.h5" >"$work/median-off.txt" 2>&1; then
    bad "check_h5py.py accepted a saved median 0.1% off 06's replications"
elif grep -q "recomputed" "$work/median-off.txt"; then
    ok "check_h5py.py recomputes 06's quantiles and slopes from the replications and rejects a median 0.1% off"
else
    bad "check_h5py.py failed the altered 06 file for another reason" "$(head -3 "$work/median-off.txt")"
fi
# The second implementation of 03's slopes in check_h5py.py catches a saved slope 1% off.
python3 - "$data/03-quadratic-iornn.h5" "$work/slope-off.h5" <<'PY'
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "a") as f:
    f["/estimate/error_slopes"][1, 0] *= 1.01
PY
if python3 Tests/interop/check_h5py.py "$work/slope-off.h5" >"$work/slope-off.txt" 2>&1; then
    bad "check_h5py.py accepted a saved U slope 1% off the error table"
elif grep -q "recomputed from the table" "$work/slope-off.txt"; then
    ok "check_h5py.py recomputes 03's slopes from the error table and rejects one 1% off"
else
    bad "check_h5py.py failed the altered file for another reason" "$(head -3 "$work/slope-off.txt")"
fi

# Same seed, same flags: the same datasets, bit for bit.
"$bin/01-score-functions" --quick --data-dir "$work/again" >/dev/null 2>&1
if python3 Tests/interop/compare_datasets.py "$h5" "$work/again/01-score-functions.h5" >"$work/cmp.txt" 2>&1; then
    ok "01-score-functions is reproducible: $(tail -1 "$work/cmp.txt")"
else
    bad "01-score-functions is not reproducible" "$(tail -5 "$work/cmp.txt")"
fi

# Scripts/plot on the --quick files of 01–03: every figure written, parsed, labelled; the same
# bytes when drawn again from the same files; the committed pages link exactly docs/figures/.
if Scripts/plot --data-dir "$data" --out "$work/figures" >"$work/plot.txt" 2>&1 \
    && python3 Tests/plot/check_figures.py "$work/figures" >"$work/figcheck.txt" 2>&1; then
    ok "Scripts/plot on the --quick files: $(tail -1 "$work/figcheck.txt")"
else
    bad "Scripts/plot on the --quick files" "$(tail -8 "$work/plot.txt")" "$(head -8 "$work/figcheck.txt")"
fi
if Scripts/plot --data-dir "$data" --out "$work/figures-again" >/dev/null 2>&1 \
    && diff -r "$work/figures" "$work/figures-again" >/dev/null; then
    ok "Scripts/plot: the same files give the same bytes ($(ls "$work/figures" | wc -l) figures)"
else
    bad "Scripts/plot drew different SVGs from the same files" "$(diff -rq "$work/figures" "$work/figures-again" | head -3)"
fi
if python3 Tests/plot/check_figures.py docs/figures --docs docs >"$work/doccheck.txt" 2>&1; then
    ok "docs/figures: $(tail -1 "$work/doccheck.txt")"
else
    bad "docs/figures against the pages" "$(head -8 "$work/doccheck.txt")"
fi
# The figure check can fail: a figure without its axis label, and one cut short.
mkdir -p "$work/figures-bad"
cp "$work/figures/"*.svg "$work/figures-bad/"
sed -i 's/training windows N/training windows/' "$work/figures-bad/03-quadratic-iornn-errors-against-N.svg"
head -c 2000 "$work/figures/02-glm-whitening.svg" >"$work/figures-bad/02-glm-whitening.svg"
if python3 Tests/plot/check_figures.py "$work/figures-bad" >"$work/figbad.txt" 2>&1; then
    bad "check_figures.py accepted a figure without its label and a truncated one"
elif grep -q "does not draw 'training windows N'" "$work/figbad.txt" && grep -q "02-glm-whitening.svg: not well-formed" "$work/figbad.txt"; then
    ok "check_figures.py rejects a missing axis label and a truncated SVG"
else
    bad "check_figures.py failed, but not for the planted defects" "$(head -4 "$work/figbad.txt")"
fi
# Bad input to Scripts/plot: one line, non-zero exit, no traceback.
mkdir -p "$work/plot-empty" "$work/plot-corrupt" "$work/plot-incomplete"
expect_error "plot: a missing file" "no such file" Scripts/plot 03 --data-dir "$work/plot-empty" --out "$work/plot-out"
echo "not an HDF5 file" >"$work/plot-corrupt/01-score-functions.h5"
expect_error "plot: a corrupt file" "not a readable HDF5 file" Scripts/plot 01 --data-dir "$work/plot-corrupt" --out "$work/plot-out"
python3 - "$data/03-quadratic-iornn.h5" "$work/plot-incomplete/03-quadratic-iornn.h5" <<'PY'
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "a") as f:
    del f["/estimate/error_slopes"]
PY
expect_error "plot: a file without a dataset its figure needs" "no dataset /estimate/error_slopes" Scripts/plot 03 --data-dir "$work/plot-incomplete" --out "$work/plot-out"
python3 - "$data/03-quadratic-iornn.h5" "$work/plot-incomplete/03-quadratic-iornn.h5" <<'PY'
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "a") as f:
    del f["/estimate/errors_against_N"]
    f["/estimate/errors_against_N"] = [[1.0, 2.0], [3.0, 4.0]]
PY
expect_error "plot: a dataset of the wrong shape" "has shape 2×2, expected n×6" Scripts/plot 03 --data-dir "$work/plot-incomplete" --out "$work/plot-out"
expect_error "plot: an unknown walkthrough" "no figures for a walkthrough 'nine'" Scripts/plot nine
touch "$work/plot-file"
expect_error "plot: --out names a file" "exists and is not a folder" Scripts/plot 01 --data-dir "$data" --out "$work/plot-file"
[ -z "$(ls -A "$work/plot-out" 2>/dev/null)" ] && ok "plot: no figure written from a bad file" || bad "plot: figures were written from a bad file" "$(ls "$work/plot-out")"
# A full standard output (the list of figures written) is one line too.
Scripts/plot 01 --data-dir "$data" --out "$work/plot-full-stdout" >/dev/full 2>"$work/full.err"
status=$?
if [ "$status" -eq 1 ] && [ "$(wc -l <"$work/full.err")" -eq 1 ] && grep -q "listing them on standard output failed" "$work/full.err"; then
    ok "plot: a full standard output: $(cat "$work/full.err")"
else
    bad "plot: a full standard output" "exit $status" "$(head -3 "$work/full.err")"
fi
# Ctrl-C while drawing (a run takes seconds): one line, exit 130, the earlier figures intact, no
# temporary file left.
cp -r "$work/figures" "$work/figures-kept"
for f in "$work/figures-kept"/*.svg; do echo "<!-- earlier -->" >>"$f"; done
cp -r "$work/figures-kept" "$work/figures-sigint"
Scripts/plot --data-dir "$data" --out "$work/figures-sigint" >/dev/null 2>"$work/sigint.err" &
plot_pid=$!
sleep 0.8
kill -INT "$plot_pid"
wait "$plot_pid"
status=$?
if [ "$status" -eq 130 ] && [ "$(wc -l <"$work/sigint.err")" -eq 1 ] && grep -q "stopped by signal SIGINT" "$work/sigint.err" \
    && diff -r "$work/figures-kept" "$work/figures-sigint" >/dev/null; then
    ok "plot: Ctrl-C mid-run: $(cat "$work/sigint.err") (exit 130, earlier figures intact, no temporary file)"
else
    bad "plot: Ctrl-C mid-run" "exit $status; $(head -3 "$work/sigint.err")" "$(diff -rq "$work/figures-kept" "$work/figures-sigint" | head -3)"
fi

# Scripts/sweep-seeds over one other seed with these (debug) binaries: the seed's line and the count.
if Scripts/sweep-seeds 01-score-functions --quick --seeds 2..2 --bin-path "$bin" >"$work/sweep.txt" 2>&1 \
    && grep -q "^seed 2: as expected" "$work/sweep.txt" && grep -q "1 of 1 runs as expected" "$work/sweep.txt"; then
    ok "sweep-seeds: $(tail -1 "$work/sweep.txt")"
else
    bad "sweep-seeds 01-score-functions --quick --seeds 2..2" "$(tail -5 "$work/sweep.txt")"
fi
expect_error "sweep-seeds: a reversed range" "must be A..B with A ≤ B" Scripts/sweep-seeds 03-quadratic-iornn --seeds 5..2
expect_error "sweep-seeds: an unknown walkthrough" "no walkthrough Scripts/nope" Scripts/sweep-seeds nope --seeds 1..2

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
expect_error "01-score-functions: bad --samples" "--samples must be at least 64" "$bin/01-score-functions" --quick --samples 1 --data-dir "$work/bad"
expect_error "01-score-functions: --samples 7 (fewer than the batches)" "--samples must be at least 64" "$bin/01-score-functions" --quick --samples 7 --data-dir "$work/bad"
expect_error "01-score-functions: --samples -3" "got -3" "$bin/01-score-functions" --quick --samples -3 --data-dir "$work/bad"
expect_error "02-glm: --samples=-3" "got -3" "$bin/02-glm" --quick --samples=-3 --data-dir "$work/bad"
expect_error "03-quadratic-iornn: --samples below the smallest fit" "--samples sets the number of training windows" "$bin/03-quadratic-iornn" --samples 500 --data-dir "$work/bad"
expect_error "04-polynomial: --samples below the smallest fit" "must be at least 20000" "$bin/04-polynomial" --samples 500 --data-dir "$work/bad"
expect_error "01-score-functions: data folder is a file" "names a file, not a folder" "$bin/01-score-functions" --quick --data-dir "$work/text.h5"
expect_error "01-score-functions: data folder under a file" "$work/text.h5 is a file, not a folder" "$bin/01-score-functions" --quick --data-dir "$work/text.h5/sub"
expect_error "01-score-functions: empty data folder" "--data-dir must name a folder" "$bin/01-score-functions" --quick --data-dir ""
expect_error "01-score-functions: data folder cannot be created" "cannot create /proc/nope" "$bin/01-score-functions" --quick --data-dir /proc/nope
# The smallest sample count runs to the end without a trap (every verdict may not be as expected
# with so few samples, but the run must finish and say so).
"$bin/01-score-functions" --samples 64 --data-dir "$work/small" >"$work/small.txt" 2>&1
status=$?
if { [ "$status" -le 1 ] || [ "$status" -eq 3 ]; } && grep -q " confirmed; " "$work/small.txt"; then
    ok "01-score-functions --samples 64 runs to the summary (exit $status; 3 = inconclusive)"
else
    bad "01-score-functions --samples 64" "exit $status" "$(tail -3 "$work/small.txt")"
fi

# spectral-rnn inspect on h5py's null dataspace and a uint64 attribute above Int64.max.
if python3 - "$work/odd.h5" <<'PY' 2>"$work/py-odd.txt"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("empty", data=h5py.Empty("f8"))
    f.attrs["big"] = np.uint64(2**64 - 1)
PY
then
    if "$bin/spectral-rnn" inspect "$work/odd.h5" >"$work/odd.txt" 2>&1 \
        && grep -q "empty  (null dataspace) float64" "$work/odd.txt" && grep -q "@big = 18446744073709551615" "$work/odd.txt" \
        && "$bin/spectral-rnn" inspect "$work/odd.h5" /empty >"$work/odd-empty.txt" 2>&1; then
        ok "spectral-rnn inspect lists a null dataspace and a uint64 attribute above Int64.max"
    else
        bad "spectral-rnn inspect on a null dataspace / uint64 attribute" "$(head -5 "$work/odd.txt" "$work/odd-empty.txt" 2>/dev/null)"
    fi
else
    bad "h5py could not write the null-dataspace file" "$(tail -3 "$work/py-odd.txt")"
fi
# The seed is stored so that any UInt64 round-trips.
if "$bin/01-score-functions" --samples 64 --seed 18446744073709551615 --data-dir "$work/bigseed" >/dev/null 2>&1; [ $? -le 1 ] \
    && python3 -c "import h5py, sys; s = h5py.File(sys.argv[1])['/'].attrs['seed']; sys.exit(0 if int(s) == 2**64 - 1 else 1)" \
        "$work/bigseed/01-score-functions.h5" 2>/dev/null; then
    ok "01-score-functions stores seed 2⁶⁴ − 1 exactly"
else
    bad "seed 2⁶⁴ − 1 does not round-trip"
fi
expect_error "02-glm: unknown flag" "Unknown option" "$bin/02-glm" --quick --bogus

# spectral-rnn simulate and fit, end to end: a small simulated file, its fit, the shapes
# of every output, the process read or estimated, reproducibility, and each bad input of
# fit (one line, non-zero exit, no output file written or an earlier one left intact).
sim="$work/sim.h5"
if "$bin/spectral-rnn" simulate --dx 4 --hidden 3 --dy 5 --windows 3000 --length 16 --phi 0.5 --seed 3 \
    --output "$sim" >"$work/sim.txt" 2>&1 && grep -q "N = 3000 windows" "$work/sim.txt"; then
    ok "spectral-rnn simulate writes $(basename "$sim")"
else
    bad "spectral-rnn simulate" "$(head -5 "$work/sim.txt")"
fi
if python3 Tests/interop/check_h5py.py "$sim" --expect /x=3000x16x4 --expect /y=3000x16x5 \
    --expect /process/Phi=4x4 --expect /process/Sigma=4x4 --expect /model/A1=3x4 --expect /model/U=3x3 \
    --expect /model/A2=3x5 >"$work/pysim.txt" 2>&1; then
    ok "h5py reads the simulated file: $(tail -1 "$work/pysim.txt")"
else
    bad "h5py check of the simulated file" "$(tail -8 "$work/pysim.txt")"
fi
fit="$work/fit.h5"
if "$bin/spectral-rnn" fit "$sim" --hidden 3 --output "$fit" >"$work/fit.txt" 2>&1 \
    && grep -q "input process: from the file" "$work/fit.txt" && grep -q "against /model" "$work/fit.txt"; then
    ok "spectral-rnn fit on it: $(grep -E 'prediction error' "$work/fit.txt" | sed 's/^ *//')"
else
    bad "spectral-rnn fit" "$(head -12 "$work/fit.txt")"
fi
if python3 Tests/interop/check_h5py.py "$fit" --expect /estimate/A1=3x4 --expect /estimate/U=3x3 \
    --expect /estimate/A2=3x5 --expect /estimate/U_least_squares=3x3 --expect /process/Phi=4x4 \
    --expect /process/Sigma=4x4 --expect /diagnostics/second_moment=5x4x4 --expect /diagnostics/second_moment_se=5x4x4 \
    --expect /diagnostics/projected_mixed=3x3 --expect /diagnostics/condition_numbers=2 \
    --expect /comparison/prediction_error=scalar >"$work/pyfit.txt" 2>&1; then
    ok "h5py reads the fit: $(tail -1 "$work/pyfit.txt")"
else
    bad "h5py check of the fit" "$(tail -8 "$work/pyfit.txt")"
fi
if python3 - "$fit" >"$work/fitattrs.txt" 2>&1 <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert f["/process"].attrs["source"] == "file", f["/process"].attrs["source"]
    assert f["/diagnostics"].attrs["second_moment_samples"] == 3000 * 16
    assert f["/diagnostics"].attrs["mixed_moment_samples"] == 3000 * 15
    assert np.all(np.isfinite(f["/estimate/U"][()]))
    error = f["/comparison/prediction_error"][()]
    assert 0 < error < 0.5, error
print("process source 'file', 48000 and 45000 samples, prediction error", round(float(error), 4))
PY
then
    ok "fit output attributes: $(tail -1 "$work/fitattrs.txt")"
else
    bad "fit output attributes" "$(tail -3 "$work/fitattrs.txt")"
fi
"$bin/spectral-rnn" fit "$sim" --hidden 3 --output "$work/fit-again.h5" >/dev/null 2>&1
if python3 Tests/interop/compare_datasets.py "$fit" "$work/fit-again.h5" >"$work/fitcmp.txt" 2>&1; then
    ok "spectral-rnn fit is reproducible: $(tail -1 "$work/fitcmp.txt")"
else
    bad "spectral-rnn fit is not reproducible" "$(tail -5 "$work/fitcmp.txt")"
fi
expect_threads_identical "fit (quadratic, /process in the file)" "$fit" "$sim" --hidden 3
# fit --refine (issue 14): the spectral estimate refined by minibatch Adam, held out on the last
# tenth of the windows; both models written, the refined one predicts better, same bits for any threads.
if "$bin/spectral-rnn" fit "$sim" --hidden 3 --refine --output "$work/fit-refined.h5" >"$work/fitr.txt" 2>&1 \
    && grep -q "refinement (minibatch Adam" "$work/fitr.txt" \
    && python3 - "$fit" "$work/fit-refined.h5" >"$work/fitrattrs.txt" 2>&1 <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as plain, h5py.File(sys.argv[2], "r") as f:
    for name in ("A1", "U", "A2"):
        assert np.array_equal(plain["/estimate/" + name][()], f["/estimate/" + name][()]), name   # the spectral estimate, unchanged
        assert f["/estimate/refined/" + name].shape == plain["/estimate/" + name].shape, name
    history = f["/diagnostics/refinement"][()]
    attrs = f["/diagnostics/refinement"].attrs
    assert history.shape[1] == 4 and 2 <= history.shape[0] <= 4, history.shape
    assert int(attrs["held_out_windows"]) == 300, attrs["held_out_windows"]
    kept = int(attrs["kept_epoch"])
    assert history[kept, 1] <= history[0, 1], (history[kept, 1], history[0, 1])   # never worse on the held-out windows
    before, after = float(f["/comparison/prediction_error"][()]), float(f["/comparison/prediction_error_refined"][()])
    assert after < before, (after, before)
print(f"held-out error {history[0, 1]:.5f} -> {history[kept, 1]:.5f} (epoch {kept}); prediction error {before:.4f} -> {after:.4f}")
PY
then
    ok "fit --refine: $(tail -1 "$work/fitrattrs.txt")"
else
    bad "fit --refine" "$(head -14 "$work/fitr.txt")" "$(tail -3 "$work/fitrattrs.txt" 2>/dev/null)"
fi
expect_threads_identical "fit --refine" "$work/fit-refined.h5" "$sim" --hidden 3 --refine
# fit --refine --refine-method lbfgs: full-batch L-BFGS; on these 3000 windows (11 Adam steps an
# epoch, which the report notes) it predicts better than Adam's three epochs.
if "$bin/spectral-rnn" fit "$sim" --hidden 3 --refine --refine-method lbfgs --output "$work/fit-lbfgs.h5" >"$work/fitl.txt" 2>&1 \
    && grep -q "refinement (full-batch L-BFGS" "$work/fitl.txt" && grep -q "Adam steps an epoch are few" "$work/fitr.txt" \
    && python3 - "$work/fit-refined.h5" "$work/fit-lbfgs.h5" >"$work/fitlattrs.txt" 2>&1 <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as adam, h5py.File(sys.argv[2], "r") as f:
    for name in ("A1", "U", "A2"):
        assert np.array_equal(adam["/estimate/" + name][()], f["/estimate/" + name][()]), name   # the same spectral start
    history = f["/diagnostics/refinement"][()]
    attrs = f["/diagnostics/refinement"].attrs
    assert "L-BFGS" in attrs["method"] and "kept_epoch" not in attrs, dict(attrs)
    kept = int(attrs["kept_iteration"])
    assert history.shape[1] == 4 and history.shape[0] <= 51, history.shape
    assert history[kept, 1] <= history[0, 1], (history[kept, 1], history[0, 1])   # never worse on the held-out windows
    lbfgs, by_adam = float(f["/comparison/prediction_error_refined"][()]), float(adam["/comparison/prediction_error_refined"][()])
    assert lbfgs < by_adam, (lbfgs, by_adam)
print(f"held-out error {history[0, 1]:.5f} -> {history[kept, 1]:.5f} (iteration {kept} of {history.shape[0] - 1}); prediction error {lbfgs:.4f} against Adam's {by_adam:.4f}")
PY
then
    ok "fit --refine --refine-method lbfgs: $(tail -1 "$work/fitlattrs.txt")"
else
    bad "fit --refine --refine-method lbfgs" "$(head -14 "$work/fitl.txt")" "$(tail -3 "$work/fitlattrs.txt" 2>/dev/null)"
fi
expect_threads_identical "fit --refine --refine-method lbfgs" "$work/fit-lbfgs.h5" "$sim" --hidden 3 --refine --refine-method lbfgs
expect_error "fit --refine-method without --refine is refused" "add --refine" "$bin/spectral-rnn" fit "$sim" --hidden 3 --refine-method lbfgs --output "$work/out.h5"
expect_error "fit --refine-method sgd is refused" "Please provide one of 'adam' and 'lbfgs'" "$bin/spectral-rnn" fit "$sim" --hidden 3 --refine --refine-method sgd --output "$work/out.h5"
expect_error "fit --refine with --backward is refused" "not available with --backward" "$bin/spectral-rnn" fit "$sim" --hidden 2 --backward 1 --refine --output "$work/out.h5"
"$bin/spectral-rnn" simulate --dx 4 --hidden 3 --dy 5 --windows 1 --length 3000 --seed 3 --output "$work/one-window.h5" >/dev/null 2>&1
expect_error "fit --refine on one window is refused" "needs at least 2; the file has 1" "$bin/spectral-rnn" fit "$work/one-window.h5" --hidden 3 --refine --output "$work/out.h5"
"$bin/spectral-rnn" simulate --dx 4 --hidden 3 --dy 5 --windows 2 --length 200000 --seed 3 --output "$work/long-windows.h5" >/dev/null 2>&1
expect_error "fit --refine on windows longer than a batch is refused" "cut the sequence into shorter windows" "$bin/spectral-rnn" fit "$work/long-windows.h5" --hidden 3 --refine --output "$work/out.h5"
rm -f "$work/one-window.h5" "$work/long-windows.h5"
expect_error "fit --refine-iterations 0 is refused" "--refine-iterations must be between 1 and 10000, got 0" "$bin/spectral-rnn" fit "$sim" --hidden 3 --refine --refine-iterations 0 --output "$work/out.h5"
# The comparison can fail: one entry of /estimate/A1 moved by one ulp is a difference.
python3 - "$fit" "$work/fit-ulp.h5" <<'PY'
import shutil, sys, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    f["/estimate/A1"][0, 0] = np.nextafter(f["/estimate/A1"][0, 0], np.inf)
PY
if ! python3 Tests/interop/compare_datasets.py --ignore-root threads "$fit" "$work/fit-ulp.h5" >"$work/ulp.txt" 2>&1 \
    && grep -q "/estimate/A1: values differ" "$work/ulp.txt"; then
    ok "compare_datasets.py rejects a fit with one entry one ulp off"
else
    bad "compare_datasets.py accepted a changed file" "$(tail -3 "$work/ulp.txt")"
fi

# Inputs for the process-less fit and the bad inputs, written with h5py from the simulated file.
python3 - "$sim" "$work" <<'PY'
import sys, h5py, numpy as np
sim, work = sys.argv[1], sys.argv[2]
with h5py.File(sim, "r") as f:
    x, y = f["/x"][()], f["/y"][()]
def write(name, **datasets):
    with h5py.File(f"{work}/{name}", "w") as f:
        for path, value in datasets.items():
            f[path] = value
write("noprocess.h5", x=x, y=y)
write("noy.h5", x=x)
write("rank2.h5", x=x.reshape(-1, x.shape[2]), y=y)
nan = x.copy(); nan[1234, 5, 2] = np.nan
write("nanx.h5", x=nan, y=y)
write("integers.h5", x=np.round(x * 100).astype(np.int32), y=y)
write("short.h5", x=x[:, :2], y=y[:, :2])
write("othern.h5", x=x, y=y[:2000])
PY
if "$bin/spectral-rnn" fit "$work/noprocess.h5" --hidden 3 --output "$work/fit-estimated.h5" >"$work/fit2.txt" 2>&1 \
    && grep -q "estimated from /x by least squares" "$work/fit2.txt" \
    && python3 -c "import h5py,sys; f=h5py.File(sys.argv[1]); sys.exit(f['/process'].attrs['source'] != 'estimated')" "$work/fit-estimated.h5"; then
    ok "fit without /process estimates the AR(1) and says so: $(grep -o 'spectral radius of Φ̂ [0-9.]*' "$work/fit2.txt")"
else
    bad "fit without /process" "$(head -5 "$work/fit2.txt")"
fi
expect_threads_identical "fit (quadratic, AR(1) estimated from /x)" "$work/fit-estimated.h5" "$work/noprocess.h5" --hidden 3
out="$work/out.h5"
expect_error "fit: missing file" "no such file" "$bin/spectral-rnn" fit "$work/missing.h5" --hidden 3 --output "$out"
expect_error "fit: not HDF5" "not an HDF5 file" "$bin/spectral-rnn" fit "$work/text.h5" --hidden 3 --output "$out"
expect_error "fit: missing /y" "/y: no such dataset" "$bin/spectral-rnn" fit "$work/noy.h5" --hidden 3 --output "$out"
expect_error "fit: wrong rank" "/x: expected rank 3" "$bin/spectral-rnn" fit "$work/rank2.h5" --hidden 3 --output "$out"
expect_error "fit: NaN in /x" "/x: contains NaN at index [1234, 5, 2]" "$bin/spectral-rnn" fit "$work/nanx.h5" --hidden 3 --output "$out"
expect_error "fit: integer /x" "expected float64 values, found int32" "$bin/spectral-rnn" fit "$work/integers.h5" --hidden 3 --output "$out"
expect_error "fit: windows too short" "n = 2 steps are too short" "$bin/spectral-rnn" fit "$work/short.h5" --hidden 3 --output "$out"
expect_error "fit: N differs" "must have the same N and n" "$bin/spectral-rnn" fit "$work/othern.h5" --hidden 3 --output "$out"
expect_error "fit: --hidden > dx is refused" "--hidden 5 exceeds dx = 4" "$bin/spectral-rnn" fit "$sim" --hidden 5 --output "$out"
expect_error "fit: output folder missing" "does not exist" "$bin/spectral-rnn" fit "$sim" --hidden 3 --output "$work/nowhere/out.h5"
expect_error "fit: output is the input" "is the input file" "$bin/spectral-rnn" fit "$sim" --hidden 3 --output "$sim"
if [ -e "$out" ]; then bad "a failed fit left $out behind"; else ok "failed fits wrote no output file"; fi
cp "$fit" "$work/kept.h5"
expect_error "fit: NaN in /x, earlier output kept" "contains NaN" "$bin/spectral-rnn" fit "$work/nanx.h5" --hidden 3 --output "$work/kept.h5"
if cmp -s "$fit" "$work/kept.h5" && [ -z "$(find "$work" -maxdepth 1 -name '.kept.h5.tmp-*')" ]; then
    ok "a failed fit leaves the previous output intact and no temporary file"
else
    bad "a failed fit changed the previous output or left a temporary file"
fi
expect_error "simulate: --hidden > --dx" "--hidden 5 exceeds --dx 4" "$bin/spectral-rnn" simulate --dx 4 --hidden 5 --dy 5 --windows 10 --length 5 --output "$out"
expect_error "simulate: |phi| >= 1" "--phi must satisfy |φ| < 1" "$bin/spectral-rnn" simulate --dx 4 --hidden 3 --dy 5 --windows 10 --length 5 --phi 1 --output "$out"
expect_error "simulate: no windows" "--windows must be at least 1" "$bin/spectral-rnn" simulate --dx 4 --hidden 3 --dy 5 --windows 0 --length 5 --output "$out"
expect_error "simulate: n < 3" "--length must be at least 3" "$bin/spectral-rnn" simulate --dx 4 --hidden 3 --dy 5 --windows 10 --length 2 --output "$out"
expect_error "simulate: negative noise" "--noise must be" "$bin/spectral-rnn" simulate --dx 4 --hidden 3 --dy 5 --windows 10 --length 5 --noise=-0.1 --output "$out"

# Polynomial activations: simulate and fit a cubic (vector and scalar output), bad activations.
cubic="$work/cubic.h5"
if "$bin/spectral-rnn" simulate --dx 3 --hidden 2 --dy 3 --windows 40000 --length 3 --activation 0,0.3,0,1 --seed 3 \
        --output "$cubic" >"$work/simc.txt" 2>&1 \
    && "$bin/spectral-rnn" fit "$cubic" --hidden 2 --activation 0,0.3,0,1 --output "$work/cubic-fit.h5" >"$work/fitc.txt" 2>&1 \
    && grep -q "σ(z) = 0.3·z + 1·z^3 (degree 3)" "$work/fitc.txt" && grep -q "aligned modulo permutation and sign flips" "$work/fitc.txt"; then
    ok "spectral-rnn simulate/fit --activation 0,0.3,0,1: $(grep -E 'prediction error' "$work/fitc.txt" | sed 's/^ *//' | cut -c1-160)"
else
    bad "spectral-rnn simulate/fit of a cubic" "$(head -12 "$work/simc.txt" "$work/fitc.txt")"
fi
expect_threads_identical "fit --activation 0,0.3,0,1" "$work/cubic-fit.h5" "$cubic" --hidden 2 --activation 0,0.3,0,1
# --refine with a cubic: the spectral estimate (which diverges on some fresh windows here) refined by Adam.
if "$bin/spectral-rnn" fit "$cubic" --hidden 2 --activation 0,0.3,0,1 --refine --output "$work/cubic-refined.h5" >"$work/fitcr.txt" 2>&1 \
    && python3 - "$work/cubic-refined.h5" >"$work/fitcrattrs.txt" 2>&1 <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert f["/estimate/refined/A1"].shape == (2, 3) and f["/estimate/refined/U"].shape == (2, 2), "refined shapes"
    history = f["/diagnostics/refinement"][()]
    kept = int(f["/diagnostics/refinement"].attrs["kept_epoch"])
    assert history[kept, 1] <= history[0, 1], (history[kept, 1], history[0, 1])
    error = float(f["/comparison/prediction_error_refined"][()])
    assert np.isfinite(error), error
print(f"held-out error {history[0, 1]:.4g} -> {history[kept, 1]:.4g}; refined prediction error {error:.3f}")
PY
then
    ok "fit --activation 0,0.3,0,1 --refine: $(tail -1 "$work/fitcrattrs.txt")"
else
    bad "fit --activation 0,0.3,0,1 --refine" "$(head -14 "$work/fitcr.txt")" "$(tail -3 "$work/fitcrattrs.txt" 2>/dev/null)"
fi
if python3 - "$cubic" "$work/cubic-fit.h5" >"$work/fitcattrs.txt" 2>&1 <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert list(f["/model/activation"][()]) == [0, 0.3, 0, 1]
with h5py.File(sys.argv[2], "r") as f:
    assert list(f["/estimate/activation"][()]) == [0, 0.3, 0, 1]
    assert f["/estimate/A1"].shape == (2, 3) and f["/estimate/U"].shape == (2, 2) and f["/estimate/A2"].shape == (2, 3)
    assert f["/diagnostics/leading_moment"].shape == (3, 3, 3, 3)
    scales = np.abs(f["/estimate/scales"][()])
    assert np.all(np.abs(scales - 0.35) < 0.05), scales
    assert f["/comparison/parameter_errors"].shape == (3,)
    # On 40 000 windows U is too noisy for the estimate to stay bounded on every fresh window;
    # then the prediction error is not computed (the report says why) rather than stored.
    error = float(f["/comparison/prediction_error"][()]) if "/comparison/prediction_error" in f else None
print("activation stored, shapes of the estimate, |s_j| =", np.round(scales, 3), "(true row norms 0.35), prediction error",
      "not computed (the estimate diverged on a fresh window)" if error is None else round(error, 3))
PY
then
    ok "cubic fit output: $(tail -1 "$work/fitcattrs.txt")"
else
    bad "cubic fit output" "$(tail -3 "$work/fitcattrs.txt")"
fi
if grep -q "UNRELIABLE" "$work/fitc.txt"; then
    ok "a cubic fit on 40 000 windows says its U is unreliable: $(grep -o 'relative standard error [0-9.e+-]* from [0-9]* samples of the order-5' "$work/fitc.txt" | head -1)"
else
    bad "a cubic fit on 40 000 windows did not flag its noisy U" "$(grep -E 'signal|warning' "$work/fitc.txt")"
fi
scalar="$work/scalar.h5"
if "$bin/spectral-rnn" simulate --dx 3 --hidden 2 --scalar-output --windows 40000 --length 3 --activation 0,0.3,0,1 --seed 3 \
        --output "$scalar" >"$work/sims.txt" 2>&1 \
    && python3 -c "import h5py,sys; f=h5py.File(sys.argv[1]); sys.exit(f['/y'].shape != (40000, 3))" "$scalar" \
    && "$bin/spectral-rnn" fit "$scalar" --hidden 2 --activation 0,0.3,0,1 --output "$work/scalar-fit.h5" >"$work/fits.txt" 2>&1 \
    && grep -q "scalar output" "$work/fits.txt"; then
    ok "spectral-rnn simulate --scalar-output writes an N×n /y and fit reads it as a scalar output: $(grep -E 'relative errors' "$work/fits.txt" | sed 's/^ *//' | cut -c1-120)"
else
    bad "scalar-output simulate/fit" "$(head -12 "$work/sims.txt" "$work/fits.txt")"
fi
expect_error "fit: empty activation" "the activation is empty" "$bin/spectral-rnn" fit "$cubic" --hidden 2 --activation "" --output "$out"
expect_error "fit: NaN activation" "c1 is 'nan', not a finite number" "$bin/spectral-rnn" fit "$cubic" --hidden 2 --activation 0,nan,0,1 --output "$out"
expect_error "fit: degree 1" "needs degree l ≥ 2" "$bin/spectral-rnn" fit "$cubic" --hidden 2 --activation 0,1 --output "$out"
expect_error "fit: leading coefficient 0" "leading coefficient c3 of the activation must be nonzero" "$bin/spectral-rnn" fit "$cubic" --hidden 2 --activation 0,0.3,1,0 --output "$out"
expect_error "fit: quadratic on a scalar output" "needs an activation of degree l ≥ 3" "$bin/spectral-rnn" fit "$scalar" --hidden 2 --output "$out"
expect_error "simulate: bad activation" "not a finite number" "$bin/spectral-rnn" simulate --dx 3 --hidden 2 --dy 3 --windows 10 --length 3 --activation 0,x,1 --output "$out"
expect_error "simulate: ‖U‖ above 1/l" "--spectral-norm-u must lie in [0, 1/l]" "$bin/spectral-rnn" simulate --dx 3 --hidden 2 --dy 3 --windows 10 --length 3 --activation 0,0.3,0,1 --spectral-norm-u 0.5 --output "$out"
expect_error "simulate: --scalar-output with --dy" "drop --dy 3" "$bin/spectral-rnn" simulate --dx 3 --hidden 2 --dy 3 --scalar-output --windows 10 --length 3 --activation 0,0.3,0,1 --output "$out"
expect_error "simulate: an unbounded draw" "not bounded at the typical input scale" "$bin/spectral-rnn" simulate --dx 3 --hidden 2 --dy 3 --windows 10 --length 3 --activation 0,0.3,0,1 --row-norm 1.5 --output "$out"
if [ -e "$out" ]; then bad "a refused simulate or fit left $out behind"; else ok "refused polynomial commands wrote no output file"; fi

# The bidirectional RNN through the command (walkthrough 05 ran above).
expect_error "05-bidirectional: --samples below the assignment's reach" "must be at least 16000" "$bin/05-bidirectional" --samples 500 --data-dir "$work/bad"
expect_error "06-concentration: --samples below 64 replications" "must be at least 64" "$bin/06-concentration" --samples 5 --data-dir "$work/bad"
expect_error "07-spectral-vs-gradient: --samples below 20 000 windows" "must be at least 20000" "$bin/07-spectral-vs-gradient" --samples 19999 --data-dir "$work/bad"
brnn="$work/brnn.h5"
if "$bin/spectral-rnn" simulate --dx 5 --hidden 2 --backward 2 --dy 5 --windows 60000 --length 8 --spectral-norm-u 0.3 --row-norm 0.45 --seed 4 \
        --output "$brnn" >"$work/simb.txt" 2>&1 \
    && "$bin/spectral-rnn" fit "$brnn" --hidden 2 --backward 2 --output "$work/brnn-fit.h5" >"$work/fitb.txt" 2>&1 \
    && grep -q "dh = 2 forward, dz = 2 backward" "$work/fitb.txt" \
    && "$bin/spectral-rnn" fit "$brnn" --hidden 4 --backward auto --output "$work/brnn-auto.h5" >"$work/fitba.txt" 2>&1 \
    && grep -q "dh = 2 forward, dz = 2 backward" "$work/fitba.txt"; then
    ok "spectral-rnn simulate/fit --backward (2 and auto): $(grep -E 'prediction error' "$work/fitb.txt" | sed 's/^ *//' | cut -c1-140)"
else
    bad "spectral-rnn simulate/fit --backward" "$(head -20 "$work/simb.txt" "$work/fitb.txt" "$work/fitba.txt" 2>/dev/null)"
fi
expect_threads_identical "fit --backward 2" "$work/brnn-fit.h5" "$brnn" --hidden 2 --backward 2
if python3 - "$brnn" "$work/brnn-fit.h5" >"$work/fitbattrs.txt" 2>&1 <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert f["/model/B1"].shape == (2, 5) and f["/model/V"].shape == (2, 2) and f["/model/A2"].shape == (4, 5)
    assert int(f["/model"].attrs["dh"]) == 2 and int(f["/model"].attrs["dz"]) == 2
with h5py.File(sys.argv[2], "r") as f:
    for name, shape in [("A1", (2, 5)), ("U", (2, 2)), ("B1", (2, 5)), ("V", (2, 2)), ("A2", (4, 5))]:
        assert f["/estimate/" + name].shape == shape, name
    sides = f["/diagnostics/assignment"][()]
    assert sorted(sides) == [-1, -1, 1, 1], sides
    scores = f["/diagnostics/assignment_scores"][()]
    assert scores.shape == (2, 4)
    error = float(f["/comparison/prediction_error"][()])
    assert error < 0.05, error
    assert f["/diagnostics"].attrs["past_moment_samples"] == 60000 * 7
print("shapes, sides", sides.astype(int), "prediction error", round(error, 4))
PY
then
    ok "BRNN fit output: $(tail -1 "$work/fitbattrs.txt")"
else
    bad "BRNN fit output" "$(tail -3 "$work/fitbattrs.txt")"
fi
"$bin/spectral-rnn" simulate --dx 5 --hidden 2 --backward 2 --dy 5 --windows 300 --length 8 --spectral-norm-u 0.3 --row-norm 0.45 --seed 4 \
    --output "$work/brnn-small.h5" >/dev/null 2>&1
expect_error "fit --backward on too few windows" "use more windows" "$bin/spectral-rnn" fit "$work/brnn-small.h5" --hidden 2 --backward 2 --output "$out"
expect_error "fit --backward: dh + dz > dx" "dh + dz = 6 exceeds dx = 5" "$bin/spectral-rnn" fit "$brnn" --hidden 4 --backward 2 --output "$out"
expect_error "fit --backward: negative" "--backward must be a whole number of backward units ≥ 0 or 'auto'" "$bin/spectral-rnn" fit "$brnn" --hidden 2 --backward=-1 --output "$out"
expect_error "fit --backward: not a number" "got 'two'" "$bin/spectral-rnn" fit "$brnn" --hidden 2 --backward two --output "$out"
expect_error "fit --backward: a cubic" "quadratic BRNN of paper Algorithm 2" "$bin/spectral-rnn" fit "$brnn" --hidden 2 --backward 2 --activation 0,0.3,0,1 --output "$out"
expect_error "fit --backward: more backward units than the data show" "does not fit the given dh = 1, dz = 3" "$bin/spectral-rnn" fit "$brnn" --hidden 1 --backward 3 --output "$out"
expect_error "simulate --backward: dh + dz > dx" "exceeds --dx 5" "$bin/spectral-rnn" simulate --dx 5 --hidden 3 --backward 3 --dy 6 --windows 10 --length 5 --output "$out"
expect_error "simulate --backward: negative" "--backward must be at least 0" "$bin/spectral-rnn" simulate --dx 5 --hidden 2 --backward=-2 --dy 5 --windows 10 --length 5 --output "$out"
expect_error "simulate --backward: a cubic" "quadratic BRNN of paper Algorithm 2" "$bin/spectral-rnn" simulate --dx 5 --hidden 2 --backward 2 --dy 5 --windows 10 --length 5 --activation 0,0.3,0,1 --output "$out"
if [ -e "$out" ]; then bad "a refused bidirectional command left $out behind"; else ok "refused bidirectional commands wrote no output file"; fi

# --- Hostile inputs and situations (issue 12): one line and exit 1, never a trap, a hang,
# a replaced device or a half-written file. The files come from make_hostile_files.py (h5py).
hostile="$work/hostile"
small=(--dx 3 --hidden 2 --dy 3 --windows 10 --length 4)
if python3 Tests/cli/make_hostile_files.py "$hostile" >"$work/hostile.txt" 2>&1; then
    ok "make_hostile_files.py wrote $(ls "$hostile" | wc -l) files"
else
    bad "make_hostile_files.py failed" "$(tail -3 "$work/hostile.txt")"
fi
h=$hostile
expect_error "fit: lzf-compressed /x names the filter and the conversion" "lzf filter (HDF5 filter 32000), which HDF5 1.10" \
    "$bin/spectral-rnn" fit "$h/lzf.h5" --hidden 2 --output "$out"
grep -qF "h5repack -f NONE" "$work/err" && ok "  … and says: h5repack -f NONE" || bad "lzf message without h5repack advice" "$(cat "$work/err")"
expect_error "fit: virtual /x with a missing source file" "source file vds_source.h5 (mapping 1 of 1, dataset data) does not exist" \
    "$bin/spectral-rnn" fit "$h/vds_missing.h5" --hidden 2 --output "$out"
expect_error "fit: virtual /x in HDF5 2.0's format" "written in a format newer than HDF5 1.10" \
    "$bin/spectral-rnn" fit "$h/vds_new.h5" --hidden 2 --output "$out"
expect_error "fit: /process/Phi declared 10⁵×10⁶" "/process/Phi: expected shape 3×3 (dx×dx with dx = 3 from /x), found 100000×1000000" \
    "$bin/spectral-rnn" fit "$h/huge_phi.h5" --hidden 2 --output "$out"
expect_error "fit: /x declared with 2⁶² windows, never written" "/x: holds no data: it was created but never written" \
    timeout 20 "$bin/spectral-rnn" fit "$h/huge_x.h5" --hidden 2 --output "$out"
expect_error "fit: /x with half its chunks never written" "/x: holds only part of its data: 10 of its 20 chunks were written" \
    "$bin/spectral-rnn" fit "$h/partial.h5" --hidden 2 --output "$out"
expect_error "fit: virtual /x whose source is a FIFO" "source file vds_fifo_source.h5 (mapping 1 of 1) is a FIFO (named pipe), not a regular file" \
    timeout 20 "$bin/spectral-rnn" fit "$h/vds_fifo.h5" --hidden 2 --output "$out"
expect_error "fit: /x an external link to a FIFO" "/x: is an external link to external_fifo_target.h5, which is a FIFO (named pipe), not a regular file" \
    timeout 20 "$bin/spectral-rnn" fit "$h/external_fifo.h5" --hidden 2 --output "$out"
if "$bin/spectral-rnn" fit "$h/huge_model.h5" --hidden 2 --output "$work/huge-model-fit.h5" >"$work/hm.txt" 2>&1 \
    && grep -qF "huge_model.h5: /model/A1: declares shape 100000×1000000, more than the 16777216 entries" "$work/hm.txt"; then
    ok "fit: /model/A1 declared 10⁵×10⁶ is not read; the fit goes on without the comparison"
else
    bad "fit with a huge declared /model/A1" "$(tail -3 "$work/hm.txt")"
fi
expect_error "fit: Σ = 10⁻³⁰⁰ I points at the scale of the process" "/process: AR(1) process: Σ has diagonal up to 1e-300" \
    "$bin/spectral-rnn" fit "$h/sigma_tiny.h5" --hidden 2 --output "$out"
expect_error "fit: x·10²⁰⁰ says the sums overflowed" "overflow float64 (entries of /x near 10¹⁵⁴ or above, or a few huge ones); rescale /x" \
    "$bin/spectral-rnn" fit "$h/x_overflow.h5" --hidden 2 --output "$out"
if timeout 20 "$bin/spectral-rnn" inspect "$h/huge.h5" /huge >"$work/hi.txt" 2>&1 \
    && grep -qF "statistics: not read: the dataset declares shape 100000×1000000 (100000000000 entries, 800 GB as float64)" "$work/hi.txt"; then
    ok "inspect of a dataset declared 10⁵×10⁶: shape, and why its statistics were not read"
else
    bad "inspect of a declared-huge dataset" "$(head -3 "$work/hi.txt")"
fi
if timeout 20 "$bin/spectral-rnn" inspect "$h/lzf.h5" /x >"$work/hl.txt" 2>&1 && grep -qF "statistics: not read: the dataset is compressed with the lzf filter" "$work/hl.txt"; then
    ok "inspect of an lzf dataset: shape, and why its statistics were not read"
else
    bad "inspect of an lzf dataset" "$(head -3 "$work/hl.txt")"
fi
if timeout 20 "$bin/spectral-rnn" inspect "$h/cycle.h5" >"$work/cycle.txt" 2>&1 \
    && grep -qxF "    back  (the object at /a, shown above)" "$work/cycle.txt" && [ "$(wc -l <"$work/cycle.txt")" -eq 4 ]; then
    ok "inspect ends on a hard-link cycle: /a/back is named as /a, shown above"
else
    bad "inspect on a hard-link cycle (exit $?)" "$(head -6 "$work/cycle.txt")"
fi
# Linear time: under 2 s each (the quadratic walk took 79 s at depth 200, and did not
# finish 20 000 members in 120 s); the members past --members are counted.
for case in "wide.h5 20000-member group (B-tree of names)|… and 19900 more members" "wide_old.h5 20000-member group (symbol table)|… and 19900 more members" "deep.h5 tree 400 groups deep|level399/"; do
    file=${case%% *}; rest=${case#* }; what=${rest%%|*}; needle=${rest#*|}
    start=$(date +%s%N)
    timeout 60 "$bin/spectral-rnn" inspect "$h/$file" >"$work/tree.txt" 2>&1
    status=$?
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ "$status" -eq 0 ] && [ "$elapsed" -lt 2000 ] && grep -qF -- "$needle" "$work/tree.txt"; then
        ok "inspect of a $what: $elapsed ms, $(wc -l <"$work/tree.txt") lines"
    else
        bad "inspect of a $what: exit $status after $elapsed ms" "$(tail -2 "$work/tree.txt" | cut -c1-160)"
    fi
done
"$bin/spectral-rnn" inspect "$h/wide.h5" /wide --members 100000 >"$work/all.txt" 2>&1
[ "$(grep -c "member" "$work/all.txt")" -eq 20000 ] && ok "inspect --members 100000 lists all 20000 members" \
    || bad "inspect --members 100000" "$(tail -2 "$work/all.txt")"
expect_error "inspect --members 0" "--members must be at least 1, got 0" "$bin/spectral-rnn" inspect "$h/wide.h5" --members 0
"$bin/spectral-rnn" inspect "$h/names.h5" >"$work/names.txt" 2>&1
if ! grep -q $'\x1b' "$work/names.txt" && grep -qxF '  "line\nbreak"/' "$work/names.txt" && grep -qxF '  "\x1b[31mred"  2 float64' "$work/names.txt" \
    && grep -qxF '  @note = "\x1b[2Jcleared"' "$work/names.txt" && grep -qxF "  elsewhere  (external link to /a in cycle.h5, not followed)" "$work/names.txt"; then
    ok "inspect escapes a newline and ANSI escapes in names and values, shows an external link without following it"
else
    bad "inspect of names with control characters" "$(cat -v "$work/names.txt" | head -6)"
fi
# The checks above can fail: the raw escape is there to be found when it is printed.
printf 'a \x1b[31m name\n' | grep -q $'\x1b' && ok "  (the escape check finds a raw ESC when there is one)" || bad "the ESC check cannot fail"

# Inputs that are not regular files: refused at once, not waited on.
mkfifo "$hostile/fifo.h5"
expect_error "inspect of a FIFO" "is a FIFO (named pipe), not a regular file" timeout 20 "$bin/spectral-rnn" inspect "$hostile/fifo.h5"
expect_error "fit on a FIFO" "is a FIFO (named pipe), not a regular file" timeout 20 "$bin/spectral-rnn" fit "$hostile/fifo.h5" --hidden 2 --output "$out"
ln -s loop-b "$hostile/loop-a"; ln -s loop-a "$hostile/loop-b"
expect_error "inspect of a symlink loop" "is a loop of symbolic links" "$bin/spectral-rnn" inspect "$hostile/loop-a"
expect_error "simulate --output on a symlink loop" "is a loop of symbolic links" "$bin/spectral-rnn" simulate "${small[@]}" --output "$hostile/loop-a"
ln -s nowhere.h5 "$hostile/dangling.h5"
expect_error "inspect of a dangling symlink" "is a symbolic link to a missing file" "$bin/spectral-rnn" inspect "$hostile/dangling.h5"

# Outputs that are not regular files are never replaced; symbolic links are written through.
expect_error "simulate --output on a FIFO" "exists and is a FIFO (named pipe), not a regular file; it will not be replaced" \
    timeout 20 "$bin/spectral-rnn" simulate "${small[@]}" --output "$hostile/fifo.h5"
[ -p "$hostile/fifo.h5" ] && ok "  … and the FIFO is still a FIFO" || bad "the FIFO was replaced"
if [ "$(id -u)" -eq 0 ] && mknod -m 666 "$hostile/null2" c 1 3 2>/dev/null; then
    expect_error "simulate --output on a character device (mknod c 1 3)" "exists and is a character device, not a regular file; it will not be replaced" \
        "$bin/spectral-rnn" simulate "${small[@]}" --output "$hostile/null2"
    expect_error "fit --output on a character device" "exists and is a character device" "$bin/spectral-rnn" fit "$sim" --hidden 3 --output "$hostile/null2"
    [ -c "$hostile/null2" ] && ok "  … and the device is still a character device" || bad "the character device was replaced"
else
    echo "skipped  the character-device output check: mknod needs root (running as uid $(id -u))"
fi
"$bin/spectral-rnn" simulate "${small[@]}" --seed 1 --output "$hostile/real.h5" >/dev/null 2>&1
ln -s real.h5 "$hostile/link.h5"
if "$bin/spectral-rnn" simulate "${small[@]}" --seed 2 --output "$hostile/link.h5" >/dev/null 2>&1 && [ -L "$hostile/link.h5" ] \
    && python3 -c "import h5py,sys; sys.exit(int(h5py.File(sys.argv[1]).attrs['seed']) != 2)" "$hostile/real.h5"; then
    ok "simulate --output on a symlink writes its target (the link stays a link, real.h5 holds seed 2)"
else
    bad "simulate --output through a symlink" "$(ls -l "$hostile/link.h5" "$hostile/real.h5")"
fi
long="$hostile/$(printf 'n%.0s' $(seq 240)).h5"
if "$bin/spectral-rnn" simulate "${small[@]}" --output "$long" >/dev/null 2>"$work/err" && [ -f "$long" ]; then
    ok "simulate --output with a 243-byte file name"
else
    bad "243-byte file name" "$(cat "$work/err")"
fi
expect_error "simulate --output with a 256-byte file name" "File name too long" \
    "$bin/spectral-rnn" simulate "${small[@]}" --output "$hostile/$(printf 'n%.0s' $(seq 253)).h5"

# A stale temporary of a process that no longer runs is removed by the next write there.
: >"$hostile/.stale.h5.tmp-99999999-0123456789abcdef"
: >"$hostile/.stale.h5.tmp-$$-0123456789abcdef"
"$bin/spectral-rnn" simulate "${small[@]}" --output "$hostile/stale.h5" >/dev/null 2>&1
if [ ! -e "$hostile/.stale.h5.tmp-99999999-0123456789abcdef" ] && [ -e "$hostile/.stale.h5.tmp-$$-0123456789abcdef" ] && [ -f "$hostile/stale.h5" ]; then
    ok "a write removes the stale temporary of a dead process (pid 99999999) and keeps a live one's"
else
    bad "stale temporaries" "$(ls -A "$hostile" | grep stale)"
fi

# Signals during the write: the temporary goes, the process ends as the signal says.
# SIGKILL cannot be caught: it shows the check failing, and the next write cleans up.
big=(--dx 4 --hidden 1 --dy 4 --windows 100000 --length 8)
for signal in INT TERM HUP; do
    rm -f "$hostile/signal.h5"  # each run's verdict on its own output, not a file an earlier run left
    python3 Tests/cli/interrupt_write.py "$signal" "$hostile/signal.h5" "$bin/spectral-rnn" simulate "${big[@]}" --output "$hostile/signal.h5" >"$work/sig.txt" 2>&1
    case $? in
        0) ok "$(cat "$work/sig.txt")";;
        2) echo "skipped  SIG$signal: $(cat "$work/sig.txt")";;
        *) bad "SIG$signal during a write" "$(cat "$work/sig.txt")";;
    esac
done
python3 Tests/cli/interrupt_write.py KILL "$hostile/signal.h5" "$bin/spectral-rnn" simulate "${big[@]}" --output "$hostile/signal.h5" >"$work/sig.txt" 2>&1
status=$?
"$bin/spectral-rnn" simulate "${small[@]}" --output "$hostile/signal.h5" >/dev/null 2>&1
if [ "$status" -eq 1 ] && grep -q "temporaries left \['" "$work/sig.txt" && ! ls -A "$hostile" | grep -q '^\.signal\.h5\.tmp-'; then
    ok "SIGKILL leaves its temporary (the check fails, as it must); the next write removes it"
elif [ "$status" -eq 2 ]; then
    echo "skipped  SIGKILL: $(cat "$work/sig.txt")"
else
    bad "SIGKILL control (status $status)" "$(cat "$work/sig.txt")" "$(ls -A "$hostile" | grep signal)"
fi
# A file size limit (ulimit -f) is a clear error, not SIGXFSZ killing the process.
expect_error "simulate under ulimit -f 1000" "exceed this process's file size limit (ulimit -f" \
    bash -c 'ulimit -f 1000; exec "$@"' _ "$bin/spectral-rnn" simulate "${big[@]}" --output "$hostile/limited.h5"
ls -A "$hostile" | grep -q '^\.limited' && bad "ulimit -f left a temporary" || ok "  … and left no temporary"

# Full and read-only file systems (small tmpfs mounts; root only).
if [ "$(id -u)" -eq 0 ] && mkdir -p "$hostile/full" && mount -t tmpfs -o size=1M tmpfs "$hostile/full" 2>/dev/null; then
    "$bin/spectral-rnn" simulate "${small[@]}" --output "$hostile/full/old.h5" >/dev/null 2>&1
    before=$(md5sum <"$hostile/full/old.h5")
    dd if=/dev/zero of="$hostile/full/filler" bs=4k >/dev/null 2>&1
    expect_error "simulate onto a full disk" "No space left on device" \
        "$bin/spectral-rnn" simulate --dx 4 --hidden 2 --dy 4 --windows 2000 --length 8 --output "$hostile/full/old.h5"
    expect_error "fit onto a full disk" "No space left on device" "$bin/spectral-rnn" fit "$sim" --hidden 3 --output "$hostile/full/old.h5"
    expect_error "walkthrough 01 onto a full disk" "No space left on device" "$bin/01-score-functions" --quick --data-dir "$hostile/full"
    if [ "$(md5sum <"$hostile/full/old.h5")" = "$before" ] && [ "$(ls -A "$hostile/full" | sort | tr '\n' ' ')" = "filler old.h5 " ]; then
        ok "  … the older output is intact and no temporary is left"
    else
        bad "full disk left" "$(ls -A "$hostile/full")"
    fi
    umount "$hostile/full"
    mkdir -p "$hostile/readonly"
    mount -t tmpfs -o ro,size=1M tmpfs "$hostile/readonly"
    start=$(date +%s%N)
    expect_error "fit to a read-only folder is refused before the fit" "cannot create a file in folder $hostile/readonly: Read-only file system" \
        "$bin/spectral-rnn" fit "$sim" --hidden 3 --output "$hostile/readonly/fit.h5"
    grep -q "nothing was written" "$work/err" && bad "  the read-only folder was found only after the fit" || ok "  … up front, in $(( ($(date +%s%N) - start) / 1000000 )) ms"
    expect_error "walkthrough 01 to a read-only --data-dir" "Read-only file system" "$bin/01-score-functions" --quick --data-dir "$hostile/readonly"
    umount "$hostile/readonly"
else
    echo "skipped  the full-disk and read-only checks: they mount a 1 MB tmpfs, which needs root (running as uid $(id -u))"
fi

# Arguments: negative numbers are values, a name starting with '-' is refused with the fix.
expect_error "simulate --hidden -1" "--hidden must be at least 1, got -1" "$bin/spectral-rnn" simulate --dx 3 --hidden -1 --dy 3 --windows 10 --length 4 --output "$out"
expect_error "simulate --seed -1" "The value '-1' is invalid for '--seed <seed>'" "$bin/spectral-rnn" simulate "${small[@]}" --seed -1 --output "$out"
if "$bin/spectral-rnn" simulate "${small[@]}" --phi -0.5 --output "$hostile/negative-phi.h5" >"$work/phi.txt" 2>&1 && grep -qF "Φ = -0.5·I" "$work/phi.txt"; then
    ok "simulate --phi -0.5 reads a negative number"
else
    bad "simulate --phi -0.5" "$(head -2 "$work/phi.txt")"
fi
(cd "$hostile" && "$bin/spectral-rnn" simulate "${small[@]}" --output -dash.h5 >/dev/null 2>&1)
expect_error "inspect -dash.h5" "'-dash.h5' is not an option (the only short option is -h); to give a file whose name starts with '-', put '--' before" \
    bash -c 'cd "$1" && exec "$2" inspect -dash.h5' _ "$hostile" "$bin/spectral-rnn"
(cd "$hostile" && "$bin/spectral-rnn" inspect -- -dash.h5 >"$work/dash.txt" 2>&1) && grep -q "^  x  10×4×3 float64" "$work/dash.txt" \
    && ok "inspect -- -dash.h5 reads the file" || bad "inspect -- -dash.h5" "$(head -3 "$work/dash.txt")"
expect_error "simulate --noise 1e308 (outputs overflow)" "the simulated /y has" "$bin/spectral-rnn" simulate "${small[@]}" --noise 1e308 --output "$out"
expect_error "simulate with dx + dy overflowing" "dx + dy = more than 9·10¹⁸" \
    "$bin/spectral-rnn" simulate --dx 9223372036854775807 --hidden 2 --dy 3 --windows 10 --length 4 --output "$out"
expect_error "simulate beyond 2.5·10⁸ values" "more than simulate holds in memory" \
    "$bin/spectral-rnn" simulate --dx 100 --hidden 2 --dy 100 --windows 100000 --length 100 --output "$out"
# Large dx: Γ by doubling is O(dx³) (the dense dx²×dx² solve trapped at dx = 300); the
# time is printed, the bound (5 s) only catches a return of the dense solve.
start=$(date +%s%N)
if "$bin/spectral-rnn" simulate --dx 300 --hidden 2 --dy 3 --windows 1 --length 3 --output "$hostile/dx300.h5" >/dev/null 2>"$work/err"; then
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$elapsed" -lt 5000 ] && ok "simulate --dx 300: $elapsed ms" || bad "simulate --dx 300 took $elapsed ms"
else
    bad "simulate --dx 300" "$(cat "$work/err")"
fi
"$bin/spectral-rnn" simulate --dx 20 --hidden 20 --dy 20 --windows 10 --length 4 --output "$hostile/square.h5" >/dev/null 2>"$work/err" \
    && ok "simulate of a square model (dx = dh = dy = 20)" || bad "square model" "$(cat "$work/err")"
[ -e "$out" ] && bad "a refused hostile command left $out behind" || ok "refused hostile commands wrote no output file"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
