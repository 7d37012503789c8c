#!/usr/bin/env bash
# make bench: every benchmark of the project, side by side with Debian's Ganglia 3.7.2 where
# there is a counterpart, then the results section of BENCHMARKS.md rewritten with this run's
# numbers, the machine and the date. BENCH_QUICK=1 runs a short version (about 2 minutes).
# Every daemon and temporary directory a benchmark creates is removed by the benchmark itself.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  CRIT=(--warm-up-time 1 --measurement-time 1)
  GMOND=(--seconds 1 --rates 100000,300000)
  GMETAD=(--cycles 2)
else
  CRIT=(--warm-up-time 2 --measurement-time 5)
  GMOND=()
  GMETAD=(--cycles 3)
fi

step() { echo "bench: $*" >&2; }

step "building release binaries"
cargo build --release --workspace --bins >&2

step "criterion: XDR and XML (ganglia-proto)"
cargo bench -p ganglia-proto --bench xdr --bench xml -- "${CRIT[@]}" 2>/dev/null | grep -E "^[a-z_0-9]+/|time: +\[[0-9]|thrpt: +\[[0-9]" > "$OUT/criterion.txt" || true
step "criterion: gmetad polling path"
cargo bench -p gmetad-rs --bench poll -- "${CRIT[@]}" 2>/dev/null | grep -E "^[a-z_0-9]+/|time: +\[[0-9]" >> "$OUT/criterion.txt" || true

step "gmond ingest: Debian gmond vs gmond-rs"
target/release/gmond-bench "${GMOND[@]}" ${GMOND_BENCH_ARGS:-} > "$OUT/gmond.txt"
step "gmetad: Debian gmetad vs gmetad-rs"
target/release/gmetad-bench "${GMETAD[@]}" ${GMETAD_BENCH_ARGS:-} > "$OUT/gmetad.txt"

{
  echo "<!-- results:start (written by scripts/bench.sh; edit outside these markers) -->"
  echo "Run: $(date -u '+%F %H:%M UTC'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r)$([ "${BENCH_QUICK:-0}" = 1 ] && echo ', BENCH_QUICK')."
  echo
  echo "### criterion"
  echo '```'; cat "$OUT/criterion.txt"; echo '```'
  echo
  echo "### gmond-bench"
  echo '```'; sed '/^$/d' "$OUT/gmond.txt"; echo '```'
  echo
  echo "### gmetad-bench"
  echo '```'; sed '/^$/d' "$OUT/gmetad.txt"; echo '```'
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
cat "$OUT/gmond.txt" "$OUT/gmetad.txt"
step "BENCHMARKS.md updated"
