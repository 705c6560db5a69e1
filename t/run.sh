#!/bin/sh
# Runs every warren test: the Check unit programs under t/unit and the
# integration scripts under t/integration. Prints one line per test and a
# closing "N passed, M failed, K skipped" line; exits non-zero on any failure.
#
# A test that cannot run here (exit 77, e.g. no Go toolchain) is skipped,
# unless WR_STRICT=1 (CI), where a skip is a failure.
# Every sanitizer report written during the run is a failure too.

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/t/out"
rm -rf "$out"
mkdir -p "$out/san"

export WR_TOP="$top"
export WR_OUT="$out"
export ASAN_OPTIONS="detect_leaks=1:log_path=$out/san/asan:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$out/san/ubsan"
export LSAN_OPTIONS="suppressions=$top/t/lsan.supp"
# Check's fork mode and the sanitizers' exit-time leak check get along
# better in one process per test program.
export CK_FORK=no

pass=0; fail=0; skip=0; failed=""
only=${1:-}

run_one() {
    name=$1; shift
    case "$name" in *"$only"*) ;; *) return ;; esac
    log="$out/$(echo "$name" | tr '/' '_').log"
    start=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "PASS  $name (${secs}s)"
    elif [ $rc -eq 77 ] && [ "${WR_STRICT:-0}" != 1 ]; then
        skip=$((skip + 1)); echo "SKIP  $name: $(tail -n 1 "$log")"
    else
        fail=$((fail + 1)); failed="$failed $name"
        echo "FAIL  $name (exit $rc, ${secs}s); last lines of $log:"
        tail -n 25 "$log" | sed 's/^/    /'
    fi
}

for t in "$top"/t/unit/*/test_*; do
    case "$t" in *.c|*.o) continue ;; esac
    [ -x "$t" ] || continue
    run_one "unit/${t#"$top"/t/unit/}" "$t"
done

for t in "$top"/t/integration/*.sh; do
    [ -f "$t" ] || continue
    [ "$(basename "$t")" = lib.sh ] && continue
    run_one "integration/$(basename "$t" .sh)" sh "$t"
done

reports=$(ls "$out/san" 2>/dev/null)
if [ -n "$reports" ]; then
    fail=$((fail + 1)); failed="$failed sanitizers"
    echo "FAIL  sanitizer reports:"
    for r in "$out"/san/*; do sed 's/^/    /' "$r" | head -n 40; done
fi

echo ""
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
