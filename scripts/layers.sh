#!/usr/bin/env bash
# The dependency direction of src/: a file in a layer may include headers of its own folder and
# of lower layers only (src/README.md draws them).  Folders on one rank are siblings that do not
# know each other.  The unit tests of a folder (tests/unit/<folder>/) obey the same rule, so the
# domain is tested without HTTP too.  Prints each offending include and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A rank=(
  [base]=0
  [store]=1 [upstream]=1 [openai]=1 [anthropic]=1
  [convo]=2
  [pool]=2 [users]=2
  [ledger]=3 [shared]=3
  [stats]=4
  [http]=5
  [call]=6
  [admin]=7
  [app]=8
)
bad=0
for f in src/*/*.[ch] tests/unit/*/*.c; do
  from=${f#src/}; from=${from#tests/unit/}; from=${from%%/*}
  [ -n "${rank[$from]+x}" ] || { echo "layers: $f: folder '$from' has no rank in scripts/layers.sh"; bad=1; continue; }
  while IFS= read -r inc; do
    to=${inc%%/*}
    [ "$inc" = tempdb.h ] && continue                  # tests/unit's own helper
    if [ "$inc" = "${inc#*/}" ]; then echo "layers: $f includes \"$inc\" without its folder"; bad=1; continue; fi
    [ "$to" = "$from" ] && continue
    [ -n "${rank[$to]+x}" ] || { echo "layers: $f includes \"$inc\": unknown folder"; bad=1; continue; }
    if [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
      echo "layers: $f ($from, rank ${rank[$from]}) includes \"$inc\" ($to, rank ${rank[$to]})"; bad=1
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
[ "$bad" = 0 ] && echo "layers: ok ($(ls src/*/*.[ch] tests/unit/*/*.c | wc -l) files)"
exit "$bad"
