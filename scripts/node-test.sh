#!/usr/bin/env bash
# Runs one kind of built test with node:test: `unit` (every *.test.js but the kernel ones) or `netns` (every
# *.netns.test.js: real-kernel tests in network namespaces, as root). Only tests whose TypeScript source still
# exists run, so a test left in dist/ by a file that was moved or deleted cannot run against stale code.
# Extra arguments go to `node --test` (e.g. --test-name-pattern).
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-}"
shift || true
case "$kind" in
  unit) mapfile -t built < <(find dist/src -name '*.test.js' ! -name '*.netns.test.js' | sort) ;;
  netns) mapfile -t built < <(find dist/src -name '*.netns.test.js' | sort) ;;
  *)
    echo "usage: $0 unit|netns [node --test options]" >&2
    exit 2
    ;;
esac
files=()
for f in "${built[@]}"; do
  src="src/${f#dist/src/}"
  if [[ -f "${src%.js}.ts" ]]; then files+=("$f"); fi
done
if [[ ${#files[@]} -eq 0 ]]; then
  echo "no $kind tests under dist/src (npm run build first)" >&2
  exit 1
fi
echo "node --test: ${#files[@]} $kind test files" >&2
exec node --test "$@" "${files[@]}"
