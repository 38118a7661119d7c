#!/usr/bin/env bash
# Every test: set everything up, then build, lint and run the whole test suite (npm test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
