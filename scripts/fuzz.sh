#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ (cargo-fuzz, libFuzzer) for SECONDS each,
# one after another, and prints executions, coverage and crashes per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default 60 s, every target)
#
# Works on stable Rust: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
# FUZZ_SANITIZER=none builds without AddressSanitizer (default: address).
# Installs cargo-fuzz from crates.io if it is missing. New corpus entries go
# to fuzz/corpus/<target>/, crashes to fuzz/artifacts/<target>/, logs to
# fuzz/logs/ (none of them committed); fuzz/seeds/<target>/ is read only.
# Runs niced, one target at a time. Exit status 1 if any target crashed.
set -euo pipefail

secs=${1:-60}
shift || true
all=(analyzer model_file http_bodies batch_records batch_streams label_import)
targets=("${@:-${all[@]}}")
sanitizer=${FUZZ_SANITIZER:-address}

cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Longest input each target is given: large enough for its seeds.
max_len() {
    case $1 in
        model_file) echo 16384 ;;
        label_import) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

nice -n 10 cargo fuzz build -s "$sanitizer"
mkdir -p logs
status=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    log="logs/$t.log"
    : >"$log"
    if [ "$t" = model_file ]; then
        # The shipped model (3.4 MB, too big to mutate usefully) runs once as is.
        nice -n 10 cargo fuzz run -s "$sanitizer" model_file ../models/sanctuary-v2.json \
            -- -rss_limit_mb=4096 >>"$log" 2>&1 || status=1
    fi
    rc=0
    nice -n 10 cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 >>"$log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || status=1
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
    crashes=$(find "artifacts/$t" -type f 2>/dev/null | wc -l)
    line=$(printf '%-14s %6ss execs=%-10s execs/s=%-6s cov=%-6s ft=%-6s corpus=%-12s exit=%s crash-files=%s' \
        "$t" "$secs" "$execs" "$rate" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$rc" "$crashes")
    echo "$line"
    summary+=("$line")
done
echo
echo "sanitizer=$sanitizer, $secs s per target ($(date -u +%Y-%m-%dT%H:%MZ)):"
printf '%s\n' "${summary[@]}"
exit "$status"
