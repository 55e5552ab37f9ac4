#!/usr/bin/env bash
# Builds the seed corpora of the cargo-fuzz targets (fuzz/fuzz_targets/) at run time, from the
# compose files of the conformance corpus ($RCOMPOSE_SHARED/corpus), tests/golden and examples,
# plus a few hand-written inputs for the short syntaxes. Called by scripts/fuzz.sh; nothing it
# writes is committed (fuzz/corpus is in .gitignore).
#
#   scripts/fuzz-seeds.sh [OUT_DIR]      # default: fuzz/corpus
#
# Each seed is stored as OUT_DIR/<target>/seed-<sha1 of its content>, so running it again only
# adds what is new and never duplicates; the inputs libFuzzer adds to the same directories
# are kept. Seeds per target:
#   yaml, load    every *.yaml / *.yml file;
#   dotenv        every .env / *.env / *-env file;
#   interpolate   every line holding a `$` in those files (YAML indentation, `- ` and a
#                 leading `key: ` removed, surrounding quotes dropped);
#   short_syntax  selector byte + text (see the target): the items of `ports:` and `volumes:`
#                 lists, duration and size values, `command:`/`entrypoint:` strings and volume
#                 targets found in the YAML files, plus the fixed examples below.
# Needs only bash and coreutils (awk, sed, sha1sum, find).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${RCOMPOSE_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
OUT=${1:-$ROOT/fuzz/corpus}

TARGETS=(yaml interpolate dotenv short_syntax load)
for t in "${TARGETS[@]}"; do mkdir -p "$OUT/$t"; done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# add TARGET FILE: stores FILE's content under its hash (empty files are skipped).
add() {
  [ -s "$2" ] || return 0
  local h
  h=$(sha1sum <"$2" | cut -c1-40)
  [ -e "$OUT/$1/seed-$h" ] || cp "$2" "$OUT/$1/seed-$h"
}

# add_text TARGET SELECTOR TEXT: one short_syntax-style seed (SELECTOR is an octal escape like
# 000, or "" for none) holding TEXT.
N=0
add_text() {
  N=$((N + 1))
  if [ -n "$2" ]; then printf "\\$2%s" "$3" >"$TMP/s$N"; else printf '%s' "$3" >"$TMP/s$N"; fi
  add "$1" "$TMP/s$N"
}

SOURCES=()
[ -d "$SHARED/corpus" ] && SOURCES+=("$SHARED/corpus") || echo "fuzz-seeds: $SHARED/corpus not found, using the repository's files only" >&2
SOURCES+=("$ROOT/tests/golden" "$ROOT/examples")

find "${SOURCES[@]}" -type f \( -name '*.yaml' -o -name '*.yml' \) -print0 | sort -z >"$TMP/yaml.list"
find "${SOURCES[@]}" -type f \( -name '.env' -o -name '*.env' -o -name '*-env' -o -name 'env' \) -print0 | sort -z >"$TMP/env.list"

while IFS= read -r -d '' f; do
  add yaml "$f"
  add load "$f"
done <"$TMP/yaml.list"

while IFS= read -r -d '' f; do
  add dotenv "$f"
done <"$TMP/env.list"

# Scalars of the YAML files, one per line, tagged with what they are: `KIND<TAB>TEXT`.
xargs -0 -r cat <"$TMP/yaml.list" | awk '
  function unquote(s) {
    sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s)
    if (s ~ /^".*"$/ || s ~ /^'\''.*'\''$/) s = substr(s, 2, length(s) - 2)
    return s
  }
  function indent(s) { match(s, /^ */); return RLENGTH }
  {
    line = $0
    sub(/\r$/, "", line)
    if (line ~ /^[ \t]*(#.*)?$/) next
    ind = indent(line)
    if (list != "" && (ind < lind || (ind == lind && line !~ /^ *- /))) list = ""
    if (list != "" && line ~ /^ *- /) {
      item = line; sub(/^ *- +/, "", item)
      if (item !~ /^[A-Za-z_]+:( |$)/) print list "\t" unquote(item)
      else if (list == "volumes" && item ~ /^target:/) { sub(/^target: */, "", item); print "path\t" unquote(item) }
      next
    }
    if (match(line, /^ *(ports|volumes|expose):[ \t]*$/)) {
      k = line; sub(/^ */, "", k); sub(/:.*/, "", k)
      list = (k == "expose") ? "ports" : k; lind = ind; next
    }
    if (match(line, /^ *(ports|volumes):[ \t]*\[.*\][ \t]*$/)) {
      k = line; sub(/^ */, "", k); sub(/:.*/, "", k)
      body = line; sub(/^[^\[]*\[/, "", body); sub(/\][ \t]*$/, "", body)
      n = split(body, parts, ",")
      for (i = 1; i <= n; i++) print k "\t" unquote(parts[i])
      next
    }
    if (match(line, /^ *(interval|timeout|start_period|start_interval|stop_grace_period|delay|monitor|window|max_failure_ratio):[ \t]*[^ \t]/)) {
      v = line; sub(/^ *[a-z_]+:/, "", v); print "duration\t" unquote(v); next
    }
    if (match(line, /^ *(mem_limit|memswap_limit|mem_reservation|shm_size|memory|size|pids_limit):[ \t]*[^ \t]/)) {
      v = line; sub(/^ *[a-z_]+:/, "", v); print "bytes\t" unquote(v); next
    }
    if (match(line, /^ *(command|entrypoint|test):[ \t]*[^ \t\[|>]/)) {
      v = line; sub(/^ *[a-z_]+:/, "", v); print "words\t" unquote(v); next
    }
    if (match(line, /^ *(target|source|context|dockerfile|working_dir|path):[ \t]*[^ \t]/)) {
      v = line; sub(/^ *[a-z_]+:/, "", v); print "path\t" unquote(v); next
    }
  }' | sort -u >"$TMP/scalars"

while IFS=$'\t' read -r kind text; do
  [ -n "$text" ] || continue
  case $kind in
    ports) add_text short_syntax 000 "$text" ;;
    volumes) add_text short_syntax 001 "$text" ;;
    duration) add_text short_syntax 002 "$text"; add_text short_syntax 003 "$text" ;;
    bytes) add_text short_syntax 004 "$text" ;;
    words) add_text short_syntax 005 "$text" ;;
    path) add_text short_syntax 006 "$text" ;;
  esac
done <"$TMP/scalars"

# Fixed examples of every short syntax (the quirks listed in the parsers' module docs).
while IFS= read -r s; do add_text short_syntax 000 "$s"; done <<'EOF'
80
8080:80
127.0.0.1:8080:80/udp
[::1]:8080:80
::1:80:80
5000-5005:80
98-101:98-101/sctp
[]:80:80
0:0
080:80/TCP
1-2-3:1-2-3
EOF
while IFS= read -r s; do add_text short_syntax 001 "$s"; done <<'EOF'
/data
data:/data:ro
./src:/app:rw,z
C:\x:/y
a:/data
a:b:c:d
${X:-a}:/y:nocopy
~/cfg:/etc/cfg:ro,rshared
\\server\share:/mnt
x
::
EOF
while IFS= read -r s; do
  add_text short_syntax 002 "$s"
  add_text short_syntax 003 "$s"
done <<'EOF'
1h30m
1.5s
-2562047h47m16.854775807s
500ms
1µs
10us
0
3d4w
9223372036854775807ns
EOF
while IFS= read -r s; do add_text short_syntax 004 "$s"; done <<'EOF'
512m
1.5G
64kb
0x10k
1_000b
inf
-1
1e3M
EOF
while IFS= read -r s; do add_text short_syntax 005 "$s"; done <<'EOF'
sh -c "echo \"$HOME\" && exit 1"
echo 'a b' c\ d
a $(b c) `d e`
2>x y; z
b) c)
EOF
while IFS= read -r s; do add_text short_syntax 006 "$s"; done <<'EOF'
/a/./b/../../c/
../../x
a//b/.
/..
EOF

# Interpolation templates: every line with a `$` (YAML and .env files), plus fixed examples.
{
  xargs -0 -r cat <"$TMP/yaml.list"
  xargs -0 -r cat <"$TMP/env.list"
} | grep -F '$' | sed -E 's/\r$//; s/^[[:space:]]*(- +)?//; s/^[A-Za-z0-9_.-]+: +//; s/^"(.*)"$/\1/; s/^'"'"'(.*)'"'"'$/\1/' \
  | sort -u >"$TMP/templates"
cat >>"$TMP/templates" <<'EOF'
${A:-{}x}
${A:-x} ${B }
${UNSET:?must be set}
${B-default}${B:-default}${A+alt}${A:+alt}
$$A $A $5 $( $
${A:-${B:-${C:-deep}}}
EOF
while IFS= read -r s; do add_text interpolate "" "$s"; done <"$TMP/templates"

for t in "${TARGETS[@]}"; do
  printf 'fuzz-seeds: %-13s %5d files in %s\n' "$t" "$(find "$OUT/$t" -type f | wc -l)" "$OUT/$t"
done
