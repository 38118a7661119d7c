#!/usr/bin/env bash
# install-cni for a Kubernetes cluster: the calico-node DaemonSet's init container (charts/calico) runs this from
# the calico-ts image. It does what Calico's install-cni does, with calico-ts's programs:
#   1. the calico and calico-ipam plugins into the host's CNI bin directory (dist/src/cni/install.js);
#   2. credentials for the CNI plugin: a token of the ServiceAccount kube-system/calico-cni-plugin (TokenRequest,
#      made with this pod's own ServiceAccount token) in a kubeconfig, <net dir>/calico-kubeconfig (0600);
#   3. the network configuration CNI_NETWORK_CONFIG (the ConfigMap's cni_network_config) with
#      __KUBERNETES_NODE_NAME__, __CNI_MTU__ and __KUBECONFIG_FILEPATH__ filled in, checked to be JSON, as
#      <net dir>/$CNI_CONF_NAME.
# Every file is written under a temporary name and renamed. Environment (defaults for the pod):
#   CNI_NETWORK_CONFIG (required), KUBERNETES_NODE_NAME (required), CNI_MTU (0), CNI_CONF_NAME
#   (10-calico.conflist), CNI_BIN_DIR (/host/opt/cni/bin), CNI_NET_DIR (/host/etc/cni/net.d: where this
#   container sees the host's /etc/cni/net.d), HOST_CNI_NET_DIR (/etc/cni/net.d: the path the plugin sees),
#   KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT (set by the kubelet), SERVICEACCOUNT_DIR
#   (/var/run/secrets/kubernetes.io/serviceaccount), CNI_TOKEN_SECONDS (token lifetime asked for; 31536000).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "install-cni: $*" >&2; }
die() {
  log "$*"
  exit 1
}

: "${CNI_NETWORK_CONFIG:?CNI_NETWORK_CONFIG is not set (the calico-config ConfigMap key cni_network_config)}"
: "${KUBERNETES_NODE_NAME:?KUBERNETES_NODE_NAME is not set (fieldRef spec.nodeName)}"
: "${KUBERNETES_SERVICE_HOST:?KUBERNETES_SERVICE_HOST is not set (the kubelet sets it in every pod)}"
mtu="${CNI_MTU:-0}"
[[ "$mtu" =~ ^[0-9]+$ ]] || die "CNI_MTU: '$mtu' is not a number"
conf_name="${CNI_CONF_NAME:-10-calico.conflist}"
bin_dir="${CNI_BIN_DIR:-/host/opt/cni/bin}"
net_dir="${CNI_NET_DIR:-/host/etc/cni/net.d}"
host_net_dir="${HOST_CNI_NET_DIR:-/etc/cni/net.d}"
sa_dir="${SERVICEACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}"
server="https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT:-443}"
[[ "$KUBERNETES_SERVICE_HOST" == *:* ]] && server="https://[${KUBERNETES_SERVICE_HOST}]:${KUBERNETES_SERVICE_PORT:-443}"

# 1. The plugins.
node "$here/dist/src/cni/install.js" --bin-dir "$bin_dir" >&2 || die "installing the plugins in $bin_dir failed"

# 2. The CNI plugin's credentials. Node's fetch trusts the cluster CA through NODE_EXTRA_CA_CERTS.
mkdir -p "$net_dir"
kubeconfig="$net_dir/calico-kubeconfig"
NODE_EXTRA_CA_CERTS="$sa_dir/ca.crt" SERVER="$server" SA_DIR="$sa_dir" OUT="$kubeconfig.tmp" \
  SECONDS_ASKED="${CNI_TOKEN_SECONDS:-31536000}" node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    const { SERVER, SA_DIR, OUT, SECONDS_ASKED } = process.env;
    const url = `${SERVER}/api/v1/namespaces/kube-system/serviceaccounts/calico-cni-plugin/token`;
    const res = await fetch(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${readFileSync(`${SA_DIR}/token`, "utf8").trim()}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: Number(SECONDS_ASKED) },
      }),
    });
    const body = await res.json();
    if (res.status !== 201 || typeof body?.status?.token !== "string") {
      console.error(`TokenRequest for kube-system/calico-cni-plugin: ${res.status} ${body?.message ?? ""}`);
      process.exit(1);
    }
    const ca = readFileSync(`${SA_DIR}/ca.crt`).toString("base64");
    const kc = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "local", cluster: { server: SERVER, "certificate-authority-data": ca } }],
      users: [{ name: "calico", user: { token: body.status.token } }],
      contexts: [{ name: "calico-context", context: { cluster: "local", user: "calico" } }],
      "current-context": "calico-context",
    };
    writeFileSync(OUT, JSON.stringify(kc, null, 2) + "\n", { mode: 0o600 });
  ' || die "could not get a token for kube-system/calico-cni-plugin from $server"
mv -f "$kubeconfig.tmp" "$kubeconfig"

# 3. The network configuration.
conf="$CNI_NETWORK_CONFIG"
conf="${conf//__KUBERNETES_NODE_NAME__/$KUBERNETES_NODE_NAME}"
conf="${conf//__CNI_MTU__/$mtu}"
conf="${conf//__KUBECONFIG_FILEPATH__/$host_net_dir/calico-kubeconfig}"
printf '%s\n' "$conf" >"$net_dir/.$conf_name.tmp"
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$net_dir/.$conf_name.tmp" ||
  die "CNI_NETWORK_CONFIG is not JSON once filled in (left in $net_dir/.$conf_name.tmp)"
mv -f "$net_dir/.$conf_name.tmp" "$net_dir/$conf_name"
log "installed calico, calico-ipam in $bin_dir; $conf_name and calico-kubeconfig in $net_dir"
