#!/usr/bin/env bash
# Steward scan vs release-style gitleaks (RE2 build) on the same corpora.
#
#   bash bench/scan/run.sh            # full run (directory + git history)
#   RUNS=1 COMMITS_BATCH=8 bash bench/scan/run.sh   # quicker
#
# Writes everything under $WORK (default /tmp/steward-scan-bench) and prints
# a markdown table. Binaries go to bench/bin (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=${WORK:-/tmp/steward-scan-bench}
RUNS=${RUNS:-3}
PLANT_DIR=${PLANT_DIR:-400}
PLANT_GIT=${PLANT_GIT:-200}
COMMITS_BATCH=${COMMITS_BATCH:-4}
SRC=${SRC:-$(go env GOROOT)/src}
# The larger tree: GOROOT/src plus real code from the module cache.
LARGE=${LARGE:-1}
LARGE_SRC=${LARGE_SRC:-$(go env GOROOT)/src,$(go env GOMODCACHE)/github.com,$(go env GOMODCACHE)/golang.org}
PLANT_LARGE=${PLANT_LARGE:-1000}
BIN=$ROOT/bench/bin
mkdir -p "$BIN" "$WORK"

if [ ! -x "$BIN/gitleaks" ]; then
  GOBIN=$BIN go install -tags gore2regex github.com/zricethezav/gitleaks/v8@v8.30.1
fi
# The steward CLI when it builds; else the library driver with the same engine.
if go build -o "$BIN/steward" ./cmd/steward 2>/dev/null; then
  STW_DIR=("$BIN/steward" scan --no-progress --exit-code 0 -o json --output-file)
  STW_GIT=("$BIN/steward" scan --git --no-progress --exit-code 0 -o json --output-file)
  STW_KIND="steward scan"
else
  go build -o "$BIN/stwscan" ./bench/scan/stwscan
  STW_DIR=("$BIN/stwscan" -o)
  STW_GIT=("$BIN/stwscan" -git -o)
  STW_KIND="bench/scan/stwscan (same engine as steward scan)"
fi
go build -o "$BIN/plant" ./bench/scan/plant
go build -o "$BIN/evaluate" ./bench/scan/evaluate

CORPUS=$WORK/corpus
REPO=$WORK/repo
if [ ! -d "$CORPUS" ]; then
  "$BIN/plant" -src "$SRC" -dst "$CORPUS" -truth "$WORK/truth-dir.jsonl" -n "$PLANT_DIR"
fi
LARGE_CORPUS=$WORK/corpus-large
if [ "$LARGE" = 1 ] && [ ! -d "$LARGE_CORPUS" ]; then
  "$BIN/plant" -src "$LARGE_SRC" -dst "$LARGE_CORPUS" -truth "$WORK/truth-large.jsonl" -n "$PLANT_LARGE" -seed 7
fi
if [ ! -d "$REPO/.git" ]; then
  rm -rf "$REPO"
  "$BIN/plant" -git -src "$SRC" -dst "$REPO" -truth "$WORK/truth-git.jsonl" -n "$PLANT_GIT" -batch "$COMMITS_BATCH"
fi

# text bytes = bytes of files without a NUL in their first 8 KiB
text_bytes() {
  find "$1" -type f -not -path '*/.git/*' -print0 | xargs -0 perl -e '
    my $t = 0; for my $f (@ARGV) { open(my $h, "<:raw", $f) or next; read($h, my $b, 8192);
      next if index($b, "\0") >= 0; $t += -s $f } print "$t\n"' | awk '{ s += $1 } END { print s }'
}
DIR_BYTES=$(text_bytes "$CORPUS")
GIT_COMMITS=$(git -C "$REPO" rev-list --all | wc -l)

# measure NAME OUT -- CMD...: best wall time of $RUNS runs; prints
# "wall user sys maxrss_kb" of the best run.
measure() {
  local name=$1; shift
  local best="" line
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr" || true
    line=$(awk -F': ' '
      /Elapsed \(wall clock\)/ { n = split($2, a, ":"); w = (n == 3) ? a[1]*3600 + a[2]*60 + a[3] : a[1]*60 + a[2] }
      /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { m = $2 }
      END { printf "%.2f %.2f %.2f %d\n", w, u, s, m }' "$WORK/$name.time")
    if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then best=$line; fi
  done
  echo "$best"
}

echo "== I/O ceiling: cat of the corpus" >&2
CAT=$(measure cat bash -c "find '$CORPUS' -type f -print0 | xargs -0 -P2 cat > /dev/null")
echo "== directory mode" >&2
GL_DIR=$(measure gl-dir "$BIN/gitleaks" dir --no-banner --exit-code 0 -f json -r "$WORK/gl-dir.json" "$CORPUS")
ST_DIR=$(measure st-dir "${STW_DIR[@]}" "$WORK/st-dir.json" "$CORPUS")
if [ "$LARGE" = 1 ]; then
  echo "== directory mode, large tree" >&2
  LARGE_BYTES=$(text_bytes "$LARGE_CORPUS")
  CAT_L=$(measure cat-large bash -c "find '$LARGE_CORPUS' -type f -print0 | xargs -0 -P2 cat > /dev/null")
  GL_L=$(measure gl-large "$BIN/gitleaks" dir --no-banner --exit-code 0 -f json -r "$WORK/gl-large.json" "$LARGE_CORPUS")
  ST_L=$(measure st-large "${STW_DIR[@]}" "$WORK/st-large.json" "$LARGE_CORPUS")
fi
echo "== git history mode ($GIT_COMMITS commits)" >&2
GL_GIT=$(measure gl-git "$BIN/gitleaks" git --no-banner --exit-code 0 -f json -r "$WORK/gl-git.json" "$REPO")
ST_GIT=$(measure st-git "${STW_GIT[@]}" "$WORK/st-git.json" "$REPO")
GITLOG=$(measure gitlog bash -c "git -C '$REPO' -c core.fsmonitor= log -p --all --no-ext-diff > /dev/null")
GIT_BYTES=$(git -C "$REPO" -c core.fsmonitor= log -p --all --no-ext-diff | wc -c)

row() { # name wall user sys rss bytes
  awk -v n="$1" -v w="$2" -v u="$3" -v s="$4" -v m="$5" -v b="$6" 'BEGIN {
    printf "| %s | %.2f s | %.1f MB/s | %.2f s | %.1f MB/CPU-s | %.0f MiB |\n", n, w, b/1e6/w, u+s, b/1e6/(u+s), m/1024 }'
}
EVAL_DIR=$("$BIN/evaluate" -truth "$WORK/truth-dir.jsonl" -root "$CORPUS" -bytes "$DIR_BYTES" "$WORK/st-dir.json" "$WORK/gl-dir.json")
if [ "$LARGE" = 1 ]; then
  EVAL_L=$("$BIN/evaluate" -truth "$WORK/truth-large.jsonl" -root "$LARGE_CORPUS" -bytes "$LARGE_BYTES" "$WORK/st-large.json" "$WORK/gl-large.json")
fi
EVAL_GIT=$("$BIN/evaluate" -truth "$WORK/truth-git.jsonl" -root "$REPO" -bytes "$GIT_BYTES" "$WORK/st-git.json" "$WORK/gl-git.json")

LARGE_SECTION=""
if [ "$LARGE" = 1 ]; then
  LARGE_SECTION=$(cat <<LARGEREPORT
### Directory mode, larger tree: \`${LARGE_SRC//,/ + }\` (vendor trees and lock files removed), $PLANT_LARGE planted secrets, $(awk -v b="$LARGE_BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB of text

| tool | wall | MB/s | CPU | MB per CPU-s | peak RSS |
|---|---|---|---|---|---|
$(row "$STW_KIND" $ST_L "$LARGE_BYTES")
$(row "gitleaks 8.30.1 (gore2regex)" $GL_L "$LARGE_BYTES")
$(row "cat, 2 processes (I/O ceiling)" $CAT_L "$LARGE_BYTES")

\`\`\`
$EVAL_L
\`\`\`
LARGEREPORT
)
fi

cat <<REPORT
### Directory mode: \`$SRC\` copy (vendor trees and lock files removed), $PLANT_DIR planted secrets, $(awk -v b="$DIR_BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB of text

| tool | wall | MB/s | CPU | MB per CPU-s | peak RSS |
|---|---|---|---|---|---|
$(row "$STW_KIND" $ST_DIR "$DIR_BYTES")
$(row "gitleaks 8.30.1 (gore2regex)" $GL_DIR "$DIR_BYTES")
$(row "cat, 2 processes (I/O ceiling)" $CAT "$DIR_BYTES")

\`\`\`
$EVAL_DIR
\`\`\`

$LARGE_SECTION

### Git history mode: $GIT_COMMITS commits, $PLANT_GIT secrets added (most deleted later); \`git log -p\` = $(awk -v b="$GIT_BYTES" 'BEGIN{printf "%.1f", b/1e6}') MB

| tool | wall | MB/s (of git log -p) | CPU | MB per CPU-s | peak RSS |
|---|---|---|---|---|---|
$(row "$STW_KIND --git" $ST_GIT "$GIT_BYTES")
$(row "gitleaks 8.30.1 git" $GL_GIT "$GIT_BYTES")
$(row "git log -p alone" $GITLOG "$GIT_BYTES")

\`\`\`
$EVAL_GIT
\`\`\`
REPORT
