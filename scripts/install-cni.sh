#!/usr/bin/env bash
# Installs the calico-ts CNI plugins: `calico` and `calico-ipam` wrapper executables in the CNI bin directory
# (default /opt/cni/bin) and, with --conf-dir, a sample 10-calico.conflist. Builds first if needed.
#   scripts/install-cni.sh [--bin-dir DIR] [--conf-dir DIR] [--nodename NAME]
#                          [--datastore-path FILE | --etcd-endpoints URLS] [--log-file FILE] [--cni-version V]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/src/cni/install.js ]; then
  npm run --silent build
fi
exec node dist/src/cni/install.js "$@"
