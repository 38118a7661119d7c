#!/usr/bin/env bash
# Installs the calico-ts CNI plugins: `calico` and `calico-ipam` wrapper executables in the CNI bin directory
# (default /opt/cni/bin) and, with --conf-dir, a sample 10-calico.conflist whose datastore fields carry the
# names of Calico's network configuration (etcd_endpoints, etcd_ca_cert_file, etcd_cert_file, etcd_key_file;
# calico-ts's etcd_username, etcd_password), checked with the plugin's own parser first. Builds if needed.
# The `calico` wrapper forwards to the calico-node agent's CNI socket (--agent-socket, default
# <run dir>/cni.sock; CALICO_CNI_SOCKET overrides it at run time, empty: never) when it answers, else
# runs the plugin itself. Forwarding needs socat (scripts/setup.sh installs it).
#   scripts/install-cni.sh [--bin-dir DIR] [--conf-dir DIR] [--nodename NAME] [--cni-version V]
#                          [--datastore-path FILE | --etcd-endpoints URLS | --etcd-discovery-srv DOMAIN]
#                          [--etcd-ca-cert-file FILE] [--etcd-cert-file FILE] [--etcd-key-file FILE]
#                          [--etcd-username NAME] [--etcd-password PASSWORD]  (ETCD_PASSWORD if omitted)
#                          [--run-dir DIR] [--agent-socket PATH] [--log-file FILE]
#                          [--nodename-file FILE] [--mtu-file FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/src/cni/install.js ]; then
  npm run --silent build
fi
exec node dist/src/cni/install.js "$@"
