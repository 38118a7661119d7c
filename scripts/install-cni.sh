#!/usr/bin/env bash
# Installs the calico-ts CNI plugins: `calico` and `calico-ipam` wrapper executables in the CNI bin directory
# (default /opt/cni/bin) and, with --conf-dir, a sample 10-calico.conflist. Builds first if needed.
# The `calico` wrapper forwards to the calico-node agent's CNI socket (--agent-socket, default
# /var/run/calico/cni.sock; CALICO_CNI_SOCKET overrides it at run time, empty: never) when it answers, else
# runs the plugin itself. Forwarding needs socat (scripts/setup.sh installs it).
#   scripts/install-cni.sh [--bin-dir DIR] [--conf-dir DIR] [--nodename NAME]
#                          [--datastore-path FILE | --etcd-endpoints URLS] [--log-file FILE] [--cni-version V]
#                          [--agent-socket PATH]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/src/cni/install.js ]; then
  npm run --silent build
fi
exec node dist/src/cni/install.js "$@"
