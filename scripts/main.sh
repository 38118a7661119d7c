#!/usr/bin/env bash
# The main job: set everything up, then the demo (a two-node Calico lab in network namespaces: pods through
# the CNI plugin, BGP routing, policies applied with calicoctl step by step, reachability matrices), then the
# conformance summary over the shipped truth tables with the reference evaluator (a second or two).
# Needs root (the lab builds network namespaces; the root namespace is never changed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo
node dist/src/lab/main.js demo
echo
echo "== calico-ts: Calico policy semantics against the upstream Kubernetes and Calico conformance data =="
node dist/src/conformance/main.js --dataplane sim \
  testdata/conformance/selectors.json testdata/conformance/netpol/*.json testdata/conformance/anp/*.json
