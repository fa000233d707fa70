#!/usr/bin/env bash
# Benchmark `gazette build` on generated corpora shaped like the seed report.
#
#   scripts/bench.sh [N ...]        default: 1000 10000
#
# For each N: generates the corpus (examples/gen_corpus.rs: seed sentences,
# the disclosure front matter of a catalogue item, a table in every tenth
# report and two attachments in every twenty-fifth; kept under
# bench-corpus/, which git ignores, and made again when the generator's
# version changes) and runs eleven kinds of build: `full` from an empty output
# folder and no build cache (it writes the cache; three times, each from
# nothing, and the median build shown: the first build of a run, made
# minutes after other work deleted gigabytes, took 0.89 s at 1,000 reports
# where the five that followed took 0.54-0.70 s), `unchanged` with nothing
# changed, `edit` after a sentence is appended to one report (five times:
# the median build is shown), `typo` after a character halfway down it is
# replaced by another, as a typo is fixed (five times; no word moves, so
# only the terms holding that character change), `edit-mid` after a
# sentence is put in halfway down it (five times; the later words of its
# paragraph move a place, so the postings of that paragraph's terms
# change), `reweigh` after a long
# paragraph is appended to it (its length class moves: until the search
# shards held frequencies instead of BM25 weights, its weight changed in
# every term it has, as a sentence added now and then does), `publish` after a
# report dated today is added, `same-day` after a second one of the same
# day and time is added (numbered before the first: ties go by title),
# `withdraw` after that one is removed again, `back-dated` after a report
# dated among the last five generated ones is added (the incremental builds
# the cache is for), and `no-cache` from an empty output folder without the
# cache (what the cache costs a full build). For each it prints wall time,
# CPU time and the system's share of it, pages per second, peak memory
# (from /usr/bin/time -v), the output's size and the time of each stage;
# at the end, the full builds' time per report and its spread across the
# sizes. It measures; it asserts nothing. The machine is noisy: compare
# figures of one run with each other, not across runs.
#
# With VARY=F (a fraction, say 0.05), the corpora are made with that share
# of their CJK characters replaced (examples/gen_corpus.rs), so that their
# vocabulary grows with the site as real reports' does; they are kept as
# bench-corpus/N-varyF. Without it, every sentence comes from the seed
# report and the corpus has that one report's vocabulary.
#
# With COMPARE=1 (needs Debian's `hugo` and node/npm), it also builds the
# same content with Hugo (minimal templates: one page per report and a list
# per section; feeds and a sitemap as Gazette's; no search), runs Pagefind
# (npm `pagefind`) over Hugo's report pages, and prints Gazette's full
# build time as a ratio of Hugo's and of Hugo + Pagefind, all measured in
# the same run (Gazette and Hugo ROUNDS times each, alternating, and their
# medians compared), for the sizes up to 10,000 reports, each size right
# after its own builds.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time: apt-get install -y time" >&2; exit 2; }
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)

cargo build --release --quiet --bin gazette --example gen_corpus
gazette=target/release/gazette
gen=target/release/examples/gen_corpus

# Old outputs and build caches are moved aside and removed when the script
# ends, while the disk has room. On ext4 without a journal (as on the
# machine this was written on) the kernel will not reuse an inode deleted
# in the last minutes, so a build started right after tens of thousands of
# files were deleted spends seconds of system time searching for free
# inodes: the cost of the deletion, not of the build. (Until the caches
# were moved aside too, a 10,000-report site's cache, about a gigabyte,
# was deleted before each of Gazette's rounds against Hugo; and a run
# started minutes after 30 GB were deleted took 1.75 s for its first
# 1,000-report build, the next run 0.78 s.) Where the disk is short, they
# are deleted as before, and the next build waits SETTLE seconds (150 by
# default) after the deletion: without the wait, the 100,000-report
# no-cache build, which follows the deletion of 21 GB, took 152 s (a
# 10,000-report build profiled just after a deletion spent 8.5 % of its
# CPU in mkdir); started 40 s after a deletion, 124 s. ext4 passes over
# inodes freed within the dirty-expire interval (30 s), but the slowdown
# lasts longer: 1,000-report builds 20-60 s after a deletion took 1.2-1.8 s
# of system time (40 % of the samples in ext4's inode search), three
# minutes after it 0.35 s. Start a run minutes after deleting anything
# large yourself.
trash=bench-corpus/.trash
edited= published= second= backdated=
# The report edited for the `edit` build is put back, and the ones added for
# the `publish`, `same-day` and `back-dated` builds removed, however the
# script ends.
trap 'rm -rf "$trash"; [ -z "$published" ] || rm -f "$published" "$second" "$backdated"; [ -z "$edited" ] || [ ! -e "$edited.orig~" ] || mv "$edited.orig~" "$edited"' EXIT
discard() {
  local dir need avail
  for dir in "$@"; do
    [ -e "$dir" ] || continue
    need=$(du -sk "$dir" | cut -f1)
    avail=$(df -Pk bench-corpus | awk 'NR == 2 { print $4 }')
    if [ "$avail" -gt $(( need * 3 )) ]; then
      mkdir -p "$trash" && mv "$dir" "$trash/${dir##*/}.$RANDOM$RANDOM"
    else
      rm -rf "$dir"
      deleted_at=$SECONDS
    fi
  done
}
deleted_at=
settle() { # waits out the slow interval after a deletion (see discard), then syncs
  local wait=${SETTLE:-150}
  if [ -n "$deleted_at" ] && [ $(( SECONDS - deleted_at )) -lt "$wait" ]; then
    sleep $(( wait - (SECONDS - deleted_at) ))
  fi
  sync
}
# A build from nothing (`full`, `no-cache`, and each of Gazette's and
# Hugo's builds against each other) starts with the memory as a machine
# that has just booted has it, and its input read: run as root, the kernel
# drops the files it keeps cached (written ones too, once synced), and the
# corpus (not the build cache) and the programs are read again. The old
# outputs moved aside are otherwise kept in memory by the kernel, gigabytes
# of them by the time of the rounds against Hugo, and a build that writes
# much then waits for memory to be reclaimed: on this script's machine, a
# 10,000-report Gazette build took 8.5-8.9 s with 20 GB free and 9.9-10.1 s
# with the memory full of cached files, while Hugo's, which writes a third
# as much, took 7.3-9.4 s either way. Not as root, nothing is dropped.
#
# On a virtual machine that gives freed memory back to its host (free page
# reporting; this script's machine is a Firecracker VM whose balloon does),
# the memory dropped here is taken back within 5-20 s, and a page touched
# after that costs a fault in the host: `dd` wrote 2.5 GB in 0.6 s of
# system time 5 s after 5 GB were freed, in 4.8 s 20 s after. So a build's
# system time depends on how much it writes beyond what was freed just
# before it. Gazette hands its files to the disk past a threshold
# (src/handoff.rs), which keeps that small at 100,000 reports; the
# variation left (a 100,000-report no-cache build took 74 s in one run and
# 84 s in the next) is the machine's. Waiting some 30 s after the drop
# would start every build with its memory given back, at about 15 minutes
# a run.
fresh_start() { # directories read by the build...
  sync
  [ -w /proc/sys/vm/drop_caches ] || return 0
  echo 1 > /proc/sys/vm/drop_caches
  find "$@" -name .gazette-cache -prune -o -type f -print0 | xargs -0 cat > /dev/null
  cat "$gazette" "$(command -v hugo || echo /dev/null)" > /dev/null
}

edit_halfway() { # file: a sentence put in after the first of a paragraph halfway down
  local line
  line=$(awk -v half="$(( $(wc -l < "$1") / 2 ))" 'NR >= half && /。/ && !/^[#|-]/ { print NR; exit }' "$1")
  sed -i "${line}s/。/。其中部分数据经第${RANDOM}次核对后更正。/" "$1"
}

typo_halfway() { # file: the first 的 of a paragraph halfway down becomes 地
  local line
  line=$(awk -v half="$(( $(wc -l < "$1") / 2 ))" 'NR >= half && /的/ && !/^[#|-]/ { print NR; exit }' "$1")
  sed -i "${line}s/的/地/" "$1"
}

field() { grep -F "$1" "$2" | head -1 | awk -F': ' '{print $2}'; }
seconds() { # h:mm:ss or m:ss.ss → seconds
  awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }' <<<"$1"
}

if [ "${COMPARE:-}" = 1 ]; then
  command -v hugo >/dev/null || { echo "COMPARE=1 needs hugo: apt-get install -y hugo" >&2; exit 2; }
  tools=bench-corpus/pagefind-tool
  [ -x "$tools/node_modules/.bin/pagefind" ] || (mkdir -p "$tools" && cd "$tools" && echo '{"private": true}' > package.json && npm install --silent --no-audit --no-fund pagefind >/dev/null)
  # A Hugo site over the same content/ folder: the same Markdown, one page per
  # report (title, issuer, date, text) and a list per section, and the same
  # site-wide files as Gazette writes: a feed for the site and for each section
  # of its 20 newest reports (Gazette's default `feeds.entries`; Hugo's
  # built-in RSS template, whose default is every page) and a sitemap, and the
  # attachments copied (page resources of the reports that are folders). No
  # taxonomy pages, although Gazette makes its catalogue's (every report,
  # and each topic's, issuer's, year's and type's, paginated, with CSV and
  # JSON downloads), and no search.
  hugo_site=bench-corpus/hugo-site
  rm -rf "$hugo_site" && mkdir -p "$hugo_site/layouts/_default"
  cat > "$hugo_site/hugo.toml" <<'TOML'
baseURL = "https://example.gov.cn/"
languageCode = "zh-CN"
title = "Hugo"
disableKinds = ["taxonomy", "term", "robotsTXT", "404"]
[services.rss]
limit = 20
TOML
  cat > "$hugo_site/layouts/_default/single.html" <<'HTML'
<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ .Title }} - {{ .Site.Title }}</title></head>
<body><main><h1>{{ .Title }}</h1><p>{{ .Params.issuer }} {{ .Params.date_published }}</p>{{ .Content }}</main></body></html>
HTML
  cat > "$hugo_site/layouts/_default/list.html" <<'HTML'
<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{{ .Title }} - {{ .Site.Title }}</title></head>
<body><main><h1>{{ .Title }}</h1>{{ .Content }}<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul></main></body></html>
HTML
  # Gazette and Hugo build in turn ROUNDS times (default 3) and each one's
  # median is compared: on a noisy machine one build of each is a coin toss.
  # Pagefind, which takes minutes, indexes the last Hugo output once.
  rounds=${ROUNDS:-3}
  median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
fi
# Builds the corpus of n reports with Gazette and Hugo in turn, runs
# Pagefind over Hugo's output, and prints the table of their times.
compare_with_hugo() { # n
  local n=$1 corpus out hugo_out gs hs g_rss h_rss g h p rss p_rss
  # Pagefind runs out of memory near 30,000 pages (16 GB at 10,000 here).
  if [ "$n" -gt 10000 ]; then echo "$n: not compared with Hugo (Pagefind cannot index that many pages)"; return; fi
  echo
  echo "Gazette and Hugo each built $rounds times, alternating; medians:"
  printf '%-8s %12s %12s %14s %16s %14s %20s\n' \
    reports gazette_s hugo_s pagefind_s hugo+pagefind_s gazette/hugo "gazette/(hugo+pf)"
  corpus=bench-corpus/$n${VARY:+-vary$VARY}
  ln -sfn "$(pwd)/$corpus/content" "$hugo_site/content"
  run() { # command...: prints wall seconds and peak RSS MB
    local log; log=$(mktemp)
    /usr/bin/time -v "$@" >/dev/null 2>"$log"
    echo "$(seconds "$(field 'Elapsed (wall clock) time' "$log")") $(( $(field 'Maximum resident set size' "$log") / 1024 ))"
    rm -f "$log"
  }
  out=bench-corpus/out-$n
  hugo_out=bench-corpus/hugo-out-$n
  gs=(); hs=(); g_rss=0; h_rss=0
  for _ in $(seq "$rounds"); do
    discard "$out" "$corpus/.gazette-cache"; settle; fresh_start "$corpus"
    read -r g rss < <(run "$gazette" build --root "$corpus" --out "$out" -q)
    gs+=("$g"); g_rss=$(( rss > g_rss ? rss : g_rss ))
    discard "$hugo_out"; settle; fresh_start "$corpus" "$hugo_site/"
    read -r h rss < <(run hugo --quiet -s "$hugo_site" -d "$(pwd)/$hugo_out")
    hs+=("$h"); h_rss=$(( rss > h_rss ? rss : h_rss ))
  done
  sync; read -r p p_rss < <(run "$tools/node_modules/.bin/pagefind" --site "$hugo_out" --glob "s*/c*/report-*/index.html" --quiet)
  g=$(median "${gs[@]}"); h=$(median "${hs[@]}")
  awk -v n="$n" -v g="$g" -v h="$h" -v p="$p" \
    'BEGIN { printf "%-8d %12.2f %12.2f %14.2f %16.2f %14.2f %20.3f\n", n, g, h, p, h + p, g / h, g / (h + p) }'
  echo "         each build, seconds: gazette ${gs[*]}; hugo ${hs[*]}"
  echo "         peak RSS MB: gazette $g_rss, hugo $h_rss, pagefind $p_rss"
}
build_header() {
  printf '%-8s %-10s %9s %9s %9s %10s %11s %10s %8s  %s\n' reports build wall_s cpu_s sys_s pages/s peak_rss_MB output_MB files stages
}
header_due=1
# The full build of each size, for the table of time per report at the end.
fulls=()
for n in "${sizes[@]}"; do
  [ -z "$header_due" ] || { build_header; header_due=; }
  corpus=bench-corpus/$n${VARY:+-vary$VARY}
  # A run stopped half way can leave its edits in the corpus (the copy of
  # the edited report, the reports it added, the sentences the edit builds
  # put in, which a later run's copy would keep for good): it is made again.
  if [ -f "$corpus/.complete" ] && {
    [ -n "$(find "$corpus/content" -name '*.orig~' -o -name 'report-[pbs]*' | head -1)" ] ||
      grep -rqs -e '补充说明：本报告' -e '次核对后更正' "$corpus/content"
  }; then
    echo "$corpus holds edits of a run that was stopped; making it again" >&2
    rm -f "$corpus/.complete"
  fi
  # The generator writes its version to .complete once it is done: a
  # corpus cut short, or made by an older generator, is made again.
  [ "$(cat "$corpus/.complete" 2>/dev/null)" = "$("$gen" --version)" ] || { rm -rf "$corpus"; "$gen" "$corpus" "$n" ${VARY:+"$VARY"} 2>/dev/null; }
  out=bench-corpus/out-$n
  discard "$out" "$corpus/.gazette-cache"
  # One report, edited for the `edit` build and put back after.
  edited=$(find "$corpus/content" -name 'report-*.md' | sort | sed -n "$(( n / 2 ))p")
  cp "$edited" "$edited.orig~"
  # A copy of it, dated today (after every generated report), for `publish`.
  published=${edited%/*}/report-published-today.md
  # Another, for `same-day`: its title sorts after the first's.
  second=${edited%/*}/report-published-second.md
  # And one for `back-dated`, dated as the fifth newest generated report.
  backdated=${edited%/*}/report-back-dated.md
  fifth=$(grep -rh '^date_published: ' "$corpus/content" | sort | tail -5 | head -1 | cut -d' ' -f2-)
  dated() { # date title tag: the edited report's text, so dated and titled,
    # its 索引号 made its own with the tag (a 索引号 used twice fails a build)
    sed -e "s/^date_published: .*/date_published: $1/" -e "s/^date_written: .*/date_written: ${1%% *}/" \
      -e "s/^title: .*/title: $2/" -e "s/^index_no: .*/&-$3/" "$edited.orig~"
  }
  for kind in full unchanged edit typo edit-mid reweigh publish same-day withdraw back-dated no-cache; do
    args=() tries=1
    case $kind in
      # Five edits one after another, a sentence appended each time: a
      # build of a quarter of a second is at the mercy of the machine's
      # noise (0.23-0.29 s in three), so the one of median wall time is
      # shown (and all five).
      edit | typo | edit-mid) tries=5 ;;
      # Each from nothing (the output and the cache of the one before
      # discarded): the median is the clean build the others are
      # compared with.
      full) tries=${FULL_TRIES:-3} ;;
      # An edit long enough to move the report's length class (search
      # weighs length in steps of a sixteenth to an eighth of it): the
      # file of length classes changes, and the terms the paragraph adds
      # to. (Before the shards held frequencies, the report's weight
      # changed in every term it has, and this build cost four times an
      # edit's.)
      reweigh) printf '\n补充说明：%s\n' "$(printf '本报告内容有所更正，请以此为准。%.0s' $(seq 120))" >> "$edited" ;;
      publish) dated "$(date +%F) 09:00" 今日发布的报告 p1 > "$published" ;;
      same-day) dated "$(date +%F) 09:00" 通知：今日第二份报告 p2 > "$second" ;;
      withdraw) rm -f "$second" ;;
      back-dated) dated "$fifth" 补发的报告 b1 > "$backdated" ;;
      # The cache is not read by this build; its room goes to the output.
      no-cache) rm -f "$published" "$backdated"; discard "$out" "$corpus/.gazette-cache"; args=(--no-cache) ;;
    esac
    runs=()
    for try in $(seq "$tries"); do
      [ "$kind" != full ] || [ "$try" = 1 ] || discard "$out" "$corpus/.gazette-cache"
      [ "$kind" != edit ] || printf '\n补充说明：本报告第%s次更正。\n' "$RANDOM" >> "$edited"
      [ "$kind" != typo ] || typo_halfway "$edited"
      [ "$kind" != edit-mid ] || edit_halfway "$edited"
      log=$(mktemp)
      # What the last build left for the disk to write is not this one's time.
      settle
      case $kind in full | no-cache) fresh_start "$corpus" ;; esac
      if ! /usr/bin/time -v "$gazette" build --root "$corpus" --out "$out" --timings -q "${args[@]}" 2>"$log"; then
        echo "the $kind build of $n reports failed:" >&2
        grep -v -e "$(printf '^\t')" -e '^Command exited' "$log" >&2
        exit 1
      fi
      runs+=("$(seconds "$(field 'Elapsed (wall clock) time' "$log")") $log")
    done
    read -r wall log < <(printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(( (tries + 1) / 2 ))p")
    user=$(field 'User time' "$log") sys=$(field 'System time' "$log")
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
    [ "$kind" != full ] || fulls+=("$n $wall $user $sys")
    rss=$(field 'Maximum resident set size' "$log")
    stages=$(grep '^timings:' "$log" | sed 's/^timings: //')
    bytes=$(du -sb "$out" | cut -f1)
    files=$(find "$out" -type f | wc -l)
    awk -v n="$n" -v k="$kind" -v w="$wall" -v c="$cpu" -v s="$sys" -v r="$rss" -v b="$bytes" -v f="$files" -v st="$stages" \
      'BEGIN { printf "%-8d %-10s %9.2f %9.2f %9.2f %10.0f %11.1f %10.1f %8d  %s\n", n, k, w, c, s, n / w, r / 1024, b / 1e6, f, st }'
    if [ "$tries" -gt 1 ]; then
      echo "         each $kind build, seconds: $(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | paste -sd' ')"
    fi
    for run in "${runs[@]}"; do rm -f "${run#* }"; done
  done
  mv "$edited.orig~" "$edited"; edited= published= second= backdated=
  # Compared with Hugo right after its own builds, before a larger size's
  # outputs (12 GB at 100,000 reports, moved aside) fill the disk and the
  # memory. The outputs the rounds moved aside (10 GB at 10,000 reports)
  # are deleted then, not left in the next size's way; its first build
  # waits out the deletion (settle).
  if [ "${COMPARE:-}" = 1 ]; then
    compare_with_hugo "$n"
    echo; header_due=1
    rm -rf "$trash"; deleted_at=$SECONDS
  fi
done
# Time per report of the full builds, and how far apart the sizes are (the
# largest over the smallest; flat is 1). User time is the build's own work;
# system time also holds what the machine charges for memory and the disk
# (a build past the background threshold writes its output to the disk
# while it runs, a smaller one leaves that for after; see fresh_start).
if [ ${#fulls[@]} -gt 1 ]; then
  echo
  echo "Full builds, milliseconds per report:"
  printf '%s\n' "${fulls[@]}" | awk '
    { n = $1; w[NR] = 1000 * $2 / n; u[NR] = 1000 * $3 / n; s[NR] = 1000 * $4 / n
      printf "%-8d wall %7.3f   user %7.3f   sys %7.3f\n", n, w[NR], u[NR], s[NR] }
    function spread(v,   i, lo, hi) {
      lo = hi = v[1]
      for (i = 2; i <= NR; i++) {
        if (v[i] < lo) lo = v[i]
        if (v[i] > hi) hi = v[i]
      }
      return hi / lo
    }
    END { printf "spread   wall %6.2fx   user %6.2fx   sys %6.2fx\n", spread(w), spread(u), spread(s) }'
fi
