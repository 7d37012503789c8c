#!/usr/bin/env bash
# make soak: the long reliability runs (RELIABILITY.md).
#  1. the ignored `soak_*` variants of the cluster tests (network namespaces; root), one at a
#     time, each bounded by its own time limits and by SOAK_CLUSTER_TIMEOUT overall;
#  2. every cargo-fuzz target for FUZZ_SECONDS (600) each, seeded from fuzz/corpus-regress/;
#     a crash reproducer is copied into fuzz/corpus-regress/<target>/ (commit it: from then on
#     `cargo test` replays it), and with SOAK_KEEP_CORPUS=1 the minimised corpus is merged there.
# Knobs: FUZZ_SECONDS, SOAK_SKIP_CLUSTER=1, SOAK_SKIP_FUZZ=1, SOAK_KEEP_CORPUS=1, SOAK_LOGS=dir.
# Results: a summary table at the end and logs under target/soak/.
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
SOAK_CLUSTER_TIMEOUT=${SOAK_CLUSTER_TIMEOUT:-1500}
LOGS=${SOAK_LOGS:-${CARGO_TARGET_DIR:-target}/soak}
mkdir -p "$LOGS"
declare -a ROWS=()
fail=0

row() { ROWS+=("$(printf '| %-52s | %-6s | %6ss | %s |' "$1" "$2" "$3" "$4")"); }

if [ "${SOAK_SKIP_CLUSTER:-0}" != 1 ]; then
  $CARGO build --workspace --bins || exit 1
  $CARGO test -p ganglia-tests --no-run --test cluster_failover --test cluster_faults || exit 1
  for spec in cluster_failover:soak_kill9_of_the_polled_gmond_repeatedly \
              cluster_failover:soak_kill9_of_gmetad_during_rrd_writes \
              cluster_faults:soak_slow_readers_on_every_port \
              cluster_faults:soak_spoof_flood_of_1m_hosts_stays_under_the_host_cap \
              cluster_faults:soak_loss_and_reordering_for_three_minutes; do
    bin=${spec%%:*}; t=${spec#*:}
    echo "soak: $t"
    start=$(date +%s)
    if timeout --signal=INT "$SOAK_CLUSTER_TIMEOUT" $CARGO test -p ganglia-tests --test "$bin" -- \
        --ignored --exact "$t" --nocapture --test-threads=1 >"$LOGS/$t.log" 2>&1; then
      res=pass
    else
      res=FAIL; fail=1
    fi
    row "$t" "$res" "$(( $(date +%s) - start ))" "$LOGS/$t.log"
  done
fi

if [ "${SOAK_SKIP_FUZZ:-0}" != 1 ]; then
  command -v cargo-fuzz >/dev/null || $CARGO install cargo-fuzz --locked || exit 1
  export RUSTC_BOOTSTRAP=1
  for t in $(cd fuzz && $CARGO fuzz list); do
    echo "fuzz: $t for ${FUZZ_SECONDS}s"
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    cp -n fuzz/corpus-regress/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
    start=$(date +%s)
    if (cd fuzz && timeout --signal=INT $((FUZZ_SECONDS + 600)) $CARGO fuzz run "$t" "corpus/$t" -- \
          -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1) >"$LOGS/fuzz-$t.log" 2>&1; then
      res=pass
    else
      res=FAIL; fail=1
    fi
    # Keep every reproducer as a regression input.
    for a in fuzz/artifacts/"$t"/crash-* fuzz/artifacts/"$t"/oom-* fuzz/artifacts/"$t"/timeout-*; do
      [ -f "$a" ] && cp "$a" "fuzz/corpus-regress/$t/" && echo "fuzz: kept reproducer $a"
    done
    if [ "${SOAK_KEEP_CORPUS:-0}" = 1 ] && [ "$res" = pass ]; then
      (cd fuzz && $CARGO fuzz cmin "$t" "corpus/$t" >>"$LOGS/fuzz-$t.log" 2>&1) || true
      find "fuzz/corpus/$t" -type f -size -4097c | sort | head -250 | xargs -r cp -t "fuzz/corpus-regress/$t/"
    fi
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$LOGS/fuzz-$t.log" | tail -1 | awk '{print $2}')
    row "fuzz $t" "$res" "$(( $(date +%s) - start ))" "${execs:-?} execs, $LOGS/fuzz-$t.log"
  done
fi

echo
echo "| run | result | time | notes |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
exit $fail
