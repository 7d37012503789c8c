#!/usr/bin/env bash
# make bench: every benchmark of the project, side by side with Debian's Ganglia 3.7.2 where
# there is a counterpart, then the results section of BENCHMARKS.md rewritten with this run's
# numbers, the machine and the date. BENCH_QUICK=1 runs a short version (under 2 minutes once
# built: 0.5 s criterion measurements, three gmond rates, a 200-host gmetad source, one relay
# round).
# Every daemon and temporary directory a benchmark creates is removed by the benchmark itself.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  CRIT=(--warm-up-time 0.5 --measurement-time 0.5 --noplot)
  GMOND=(--seconds 1 --rates 100000,300000,600000)
  GMETAD=(--hosts 200 --step 2 --cycles 1)
  RELAY=(--seconds 2 --rounds 1 --latency-rounds 2 --pin)
else
  CRIT=(--warm-up-time 1 --measurement-time 3 --noplot)
  GMOND=()
  GMETAD=(--cycles 5)
  # Nothing else runs during make bench: the forwarder (ceiling or relay-rs) gets CPU 1 and the
  # load generator and sinks CPU 0, so the latency phase measures forwarding, not the scheduler.
  RELAY=(--pin)
fi

START=$SECONDS
step() { echo "bench: [+$((SECONDS - START))s] $*" >&2; }

# plot_ingest DATA PNG: loss % against the offered rate, one line per daemon (gnuplot).
plot_ingest() {
  mkdir -p "$(dirname "$2")"
  local series=()
  for d in $(awk '{print $1}' "$1" | sort -u); do
    awk -v d="$d" '$1 == d {print $3, $4}' "$1" | sort -n > "$OUT/plot-$d.dat"
    series+=("'$OUT/plot-$d.dat' using (\$1/1000):2 with linespoints lw 2 pt 7 title '$d'")
  done
  local IFS=,
  gnuplot <<GP
set terminal pngcairo size 800,480 font "sans,10"
set output "$2"
set title "gmond ingest: kernel UDP drops vs offered rate (1000 hosts x 30 metrics, $(nproc) cores)"
set xlabel "rate the sender reached (thousand packets/s)"
set ylabel "packets dropped by the kernel (%)"
set yrange [0:*]
set grid
set key top left
plot ${series[*]}
GP
}

step "building release binaries"
cargo build --release --workspace --bins >&2

step "criterion: XDR and XML (ganglia-proto)"
cargo bench -p ganglia-proto --bench xdr --bench xml -- "${CRIT[@]}" 2>/dev/null | grep -E "^[a-z_0-9]+/|time: +\[[0-9]|thrpt: +\[[0-9]" > "$OUT/criterion.txt" || true
step "criterion: gmetad polling path"
cargo bench -p gmetad-rs --bench poll -- "${CRIT[@]}" 2>/dev/null | grep -E "^[a-z_0-9]+/|time: +\[[0-9]" >> "$OUT/criterion.txt" || true

step "criterion: gweb-rs cluster page (1000 hosts) and graph PNGs"
cargo bench -p web --bench render -- "${CRIT[@]}" 2>/dev/null | grep -E "^[a-z_0-9]+/|time: +\[[0-9]" >> "$OUT/criterion.txt" || true

# The relay's latency phase goes before the RRD-heavy gmetad runs: their writeback (kblockd
# and flush workers) would land on the forwarder's CPU.
sync
step "relay: raw recvmmsg/sendmmsg ceiling vs relay-rs, fan-out 1:4, 200 B"
target/release/relay-bench "${RELAY[@]}" ${RELAY_BENCH_ARGS:-} > "$OUT/relay.txt"
step "gmond ingest: Debian gmond vs gmond-rs"
target/release/gmond-bench "${GMOND[@]}" --plot "$OUT/gmond-plot.txt" ${GMOND_BENCH_ARGS:-} > "$OUT/gmond.txt"
step "plot: ingest rate vs loss (docs/bench/gmond-ingest-loss.png)"
plot_ingest "$OUT/gmond-plot.txt" docs/bench/gmond-ingest-loss.png
step "gmetad: Debian gmetad vs gmetad-rs"
target/release/gmetad-bench "${GMETAD[@]}" ${GMETAD_BENCH_ARGS:-} > "$OUT/gmetad.txt"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  echo "scale: skipped (BENCH_QUICK)" > "$OUT/scale.txt"
else
  step "gmetad scale: 10k hosts x 30 metrics every 15 s with rrdcached"
  target/release/gmetad-bench --scale --hosts 10000 --metrics 30 --step 15 --cycles 3 > "$OUT/scale.txt"
fi


python3 scripts/bench_summary.py "$OUT" > "$OUT/summary.md"

{
  echo "<!-- results:start (written by scripts/bench.sh; edit outside these markers) -->"
  echo "Run: $(date -u '+%F %H:%M UTC'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r)$([ "${BENCH_QUICK:-0}" = 1 ] && echo ', BENCH_QUICK')."
  echo
  echo "### Every target in this run"
  echo
  cat "$OUT/summary.md"
  echo
  echo "Ingest rate vs loss: ![gmond ingest](docs/bench/gmond-ingest-loss.png)"
  echo
  echo "### criterion"
  echo '```'; cat "$OUT/criterion.txt"; echo '```'
  echo
  echo "### gmond-bench"
  echo '```'; sed '/^$/d' "$OUT/gmond.txt"; echo '```'
  echo
  echo "### gmetad-bench"
  echo '```'; sed '/^$/d' "$OUT/gmetad.txt"; sed '/^$/d' "$OUT/scale.txt"; echo '```'
  echo
  echo "### relay-bench"
  echo '```'; sed '/^$/d' "$OUT/relay.txt"; echo '```'
  echo "<!-- results:end -->"
} > "$OUT/results.md"

python3 - "$OUT/results.md" <<'PY'
import sys, re
new = open(sys.argv[1]).read().rstrip("\n")
doc = open("BENCHMARKS.md").read()
pat = re.compile(r"<!-- results:start.*?<!-- results:end -->", re.S)
doc = pat.sub(lambda _: new, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n## Latest run\n\n" + new + "\n"
open("BENCHMARKS.md", "w").write(doc)
PY
cat "$OUT/gmond.txt" "$OUT/gmetad.txt" "$OUT/scale.txt" "$OUT/relay.txt"
echo
cat "$OUT/summary.md"
step "BENCHMARKS.md updated"
