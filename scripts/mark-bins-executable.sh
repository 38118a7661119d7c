#!/usr/bin/env bash
# The last step of `npm run build`: makes every `bin` entry of package.json executable (0755). tsc writes its
# output 0644 (less the umask), so without this step only `npm link` or an npm install would give
# `dist/src/agent/main.js` and the other entry points their x bits.
#   scripts/mark-bins-executable.sh [PACKAGE_DIR]      (default: this repository)
# Fails, naming it, when an entry was not built.
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
mapfile -t bins < <(
  node -e '
    const pkg = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const bin = typeof pkg.bin === "string" ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {});
    for (const file of Object.values(bin)) console.log(file);
  ' "$root/package.json"
)
for f in "${bins[@]}"; do
  path="$root/$f"
  if [[ ! -f "$path" ]]; then
    echo "mark-bins-executable: $path (a bin entry of $root/package.json) was not built" >&2
    exit 1
  fi
  chmod 0755 "$path"
done
