#!/usr/bin/env bash
# The main job: set everything up, then run the conformance suite over the shipped truth tables with the
# reference evaluator and print a readable summary. (When the lab exists this becomes the demo.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo
echo "== calico-ts: Calico policy semantics against the upstream Kubernetes and Calico conformance data =="
node dist/src/conformance/main.js --dataplane sim \
  testdata/conformance/selectors.json testdata/conformance/netpol/*.json
