#!/usr/bin/env bash
# Compare Gazette's search with Pagefind on the same built site.
#
#   scripts/search-bench.sh [N]        default N = 1000 (a corpus from scripts/bench.sh)
#
# Builds the N-report corpus, runs Pagefind (npm package `pagefind`) over its
# report pages, serves the site on loopback, and for 20 fixed queries loads
# each engine in headless Chromium with a cold cache, runs the query and
# fetches the first 10 results, and reads from Resource Timing the bytes it
# downloaded (index files and engine code; the server does not compress) and
# the number of results. It measures; it asserts nothing. Needs chromium,
# node/npm and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
cargo build --release --quiet --bin gazette --example gen_corpus
corpus=bench-corpus/$n
gen=target/release/examples/gen_corpus
[ "$(cat "$corpus/.complete" 2>/dev/null)" = "$("$gen" --version)" ] || { rm -rf "$corpus"; "$gen" "$corpus" "$n" 2>/dev/null; }
work=bench-corpus/search-$n
rm -rf "$work" && mkdir -p "$work"
out=$work/portal
/usr/bin/time -f "gazette build: %e s, peak RSS %M KB" target/release/gazette build --root "$corpus" --out "$out" -q
tools=bench-corpus/pagefind-tool
[ -x "$tools/node_modules/.bin/pagefind" ] || (mkdir -p "$tools" && cd "$tools" && echo "{\"private\": true}" > package.json && npm install --silent --no-audit --no-fund pagefind >/dev/null)
/usr/bin/time -f "pagefind: %e s, peak RSS %M KB" "$tools/node_modules/.bin/pagefind" --site "$out" --glob "s*/c*/report-*/index.html" --quiet
echo "index bytes: gazette $(du -sb "$out/search" | cut -f1), pagefind $(du -sb "$out/pagefind" | cut -f1)"
cp scripts/search-probe-gazette.html scripts/search-probe-pagefind.html "$out/"
python3 scripts/search-bench.py "$work" /usr/bin/chromium
