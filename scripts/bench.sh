#!/usr/bin/env bash
# Benchmark `gazette build` on generated corpora shaped like the seed report.
#
#   scripts/bench.sh [N ...]        default: 1000 10000
#
# For each N: generates the corpus (once; kept under bench-corpus/, which git
# ignores), runs a full build from an empty output folder and a rebuild with
# nothing changed, and prints wall time, CPU time, pages per second, peak
# memory (from /usr/bin/time -v), the output's size and the time of each
# stage. It measures; it asserts nothing. The machine is noisy: compare
# figures of one run with each other, not across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time: apt-get install -y time" >&2; exit 2; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)

cargo build --release --quiet --bin gazette --example gen_corpus
gazette=target/release/gazette
gen=target/release/examples/gen_corpus

field() { grep -F "$1" "$2" | head -1 | awk -F': ' '{print $2}'; }
seconds() { # h:mm:ss or m:ss.ss → seconds
  awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }' <<<"$1"
}

printf '%-8s %-10s %9s %9s %10s %11s %10s %8s  %s\n' reports build wall_s cpu_s pages/s peak_rss_MB output_MB files stages
for n in "${sizes[@]}"; do
  corpus=bench-corpus/$n
  [ -f "$corpus/.complete" ] || { rm -rf "$corpus"; "$gen" "$corpus" "$n" 2>/dev/null; touch "$corpus/.complete"; }
  out=bench-corpus/out-$n
  rm -rf "$out"
  for kind in full unchanged; do
    log=$(mktemp)
    /usr/bin/time -v "$gazette" build --root "$corpus" --out "$out" --timings -q 2>"$log"
    wall=$(seconds "$(field 'Elapsed (wall clock) time' "$log")")
    cpu=$(awk -v u="$(field 'User time' "$log")" -v s="$(field 'System time' "$log")" 'BEGIN { print u + s }')
    rss=$(field 'Maximum resident set size' "$log")
    stages=$(grep '^timings:' "$log" | sed 's/^timings: //')
    bytes=$(du -sb "$out" | cut -f1)
    files=$(find "$out" -type f | wc -l)
    awk -v n="$n" -v k="$kind" -v w="$wall" -v c="$cpu" -v r="$rss" -v b="$bytes" -v f="$files" -v st="$stages" \
      'BEGIN { printf "%-8d %-10s %9.2f %9.2f %10.0f %11.1f %10.1f %8d  %s\n", n, k, w, c, n / w, r / 1024, b / 1e6, f, st }'
    rm -f "$log"
  done
done
