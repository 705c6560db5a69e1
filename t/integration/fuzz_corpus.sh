#!/bin/sh
# Fuzz corpus regression: every fuzz target under t/fuzz (fuzz_NAME.c) is
# built with the project's own compiler and flags as t/fuzz/replay_NAME (the
# target plus t/fuzz/replay.c, no libFuzzer) and run on every saved input in
# t/fuzz/corpus/NAME. Any crash, abort, sanitizer report or hang fails.
# (make check has built the replay programs already; the make call below is
# then a no-op, and it lets this script run on its own too.)

. "$(dirname "$0")/lib.sh"

FUZZ="$WR_TOP/t/fuzz"
LIMIT=120 # seconds per target

targets=""
for src in "$FUZZ"/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    targets="$targets ${name#fuzz_}"
done
[ -n "$targets" ] || fail "no fuzz targets in $FUZZ"
[ -f "$WR_TOP/Makefile" ] || fail "no Makefile: run ./configure first"

if command -v timeout >/dev/null 2>&1; then
    run_limited() { timeout -s KILL "$LIMIT" "$@"; }
else
    run_limited() { "$@"; }
fi

total=0
for name in $targets; do
    bin="$FUZZ/replay_$name"
    corpus="$FUZZ/corpus/$name"
    ${MAKE:-make} -s -C "$WR_TOP" "t/fuzz/replay_$name" >"$TMPD/make-$name.log" 2>&1 ||
        { sed 's/^/  | /' "$TMPD/make-$name.log"; fail "cannot build t/fuzz/replay_$name"; }
    [ -x "$bin" ] || fail "t/fuzz/replay_$name was not built"
    [ -d "$corpus" ] || fail "no corpus for $name: $corpus"
    n=$(find "$corpus" -type f | wc -l)
    [ "$n" -gt 0 ] || fail "empty corpus for $name: $corpus"

    run_limited "$bin" "$corpus" >"$TMPD/replay-$name.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        tail -n 30 "$TMPD/replay-$name.log" | sed 's/^/  | /'
        [ $rc -eq 137 ] && fail "replay_$name: hung (killed after $LIMIT s)"
        # Name the input that failed: rerun one by one.
        for f in "$corpus"/*; do
            run_limited "$bin" "$f" >/dev/null 2>&1 || { note "failing input: $f"; break; }
        done
        fail "replay_$name exited $rc on $corpus"
    fi
    grep -q "^replay: $n inputs\$" "$TMPD/replay-$name.log" ||
        fail "replay_$name did not run all $n inputs: $(tail -n 1 "$TMPD/replay-$name.log")"
    note "$name: $n inputs"
    total=$((total + n))
done

echo "fuzz corpus: $total inputs replayed without a crash"
