#!/usr/bin/env bash
# Smoke test of the Kubernetes programs that scripts/build-kubernetes.sh built: a throwaway control plane on
# loopback (Debian's etcd, kube-apiserver with TLS, RBAC and service-account keys, kube-controller-manager,
# kube-scheduler), driven with the kubectl of the same release. Touches no network configuration: everything listens
# on 127.0.0.1 on free ports and lives in one temp directory, removed with every process it started (even on failure).
#
#   scripts/smoke-kubernetes.sh                 run the checks (skips, exit 0, with the reason, if nothing is built)
#   scripts/smoke-kubernetes.sh -- CMD [ARG...] also run CMD (with KUBECONFIG set to the admin kubeconfig) as a last
#                                               check before tearing down, e.g. a client library test
# Prints "ok - ..." per check and ends with "N passed, N failed". With SMOKE_KUBERNETES_LOGS=DIR set, the programs'
# logs are copied to DIR before the temp directory goes. Details: docs/design/kubernetes.md.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
origin="$PWD"
extra=()
if [ "${1:-}" = -- ]; then
  shift
  extra=("$@")
elif [ $# -gt 0 ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

skip() {
  echo "smoke-kubernetes: skipped: $*"
  exit 0
}
bin="$("$repo/scripts/build-kubernetes.sh" --check 2>/dev/null)" ||
  skip "the Kubernetes programs are not built (run scripts/build-kubernetes.sh)"
for t in etcd openssl curl node; do command -v "$t" >/dev/null || skip "$t is not installed"; done
release="$(basename "$(dirname "$bin")")"
kubectl="$bin/kubectl"

dir="$(mktemp -d /tmp/calico-ts-k8s-smoke.XXXXXX)"
pids=()
passed=0
# Stops the programs in the reverse order of their start, each before the next (the scheduler and controller manager
# release their leases while the API server still runs; etcd goes last): SIGTERM, up to 10 s, then SIGKILL.
cleanup() {
  local p i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p="${pids[$i]}"
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "${SMOKE_KUBERNETES_LOGS:-}" ]; then
    mkdir -p "$SMOKE_KUBERNETES_LOGS" && cp "$dir"/*.log "$SMOKE_KUBERNETES_LOGS"/ 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() {
  passed=$((passed + 1))
  echo "ok - $*"
}
fail() {
  echo "not ok - $*"
  for log in "$dir"/*.log; do
    [ -f "$log" ] || continue
    echo "--- last lines of $(basename "$log")"
    tail -n 15 "$log"
  done
  echo "$passed passed, 1 failed"
  exit 1
}
# wait_for SECONDS WHAT CMD...: polls CMD every 0.2 s until it succeeds; fails the run after SECONDS, or as soon as
# one of the started programs has exited.
wait_for() {
  local secs="$1" what="$2" p
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "$what: a program exited (pid $p)"; done
    [ $SECONDS -lt $deadline ] || fail "$what: not within $secs s"
    sleep 0.2
  done
}
# start NAME PROGRAM ARGS...: runs PROGRAM in the background, output to $dir/NAME.log.
start() {
  local name="$1"
  shift
  "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
}
k() { "$kubectl" --kubeconfig "$dir/admin.kubeconfig" "$@"; }

# Free loopback ports, all asked for at once so they differ.
read -r etcd_port etcd_peer api_port kcm_port sched_port < <(node -e '
  const net = require("net");
  Promise.all([1, 2, 3, 4, 5].map(() => new Promise((ok) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => ok(s));
  }))).then((ss) => { console.log(ss.map((s) => s.address().port).join(" ")); ss.forEach((s) => s.close()); });')

# PKI: one CA; serving certs for the API server, controller manager and scheduler; client certs for the admin
# (system:masters), the controller manager and the scheduler (their built-in RBAC users); the service-account keys;
# and, as kubeadm does, a separate front-proxy CA and the API server's client cert from it: the API server publishes
# that CA (extension-apiserver-authentication) for the controller manager's and scheduler's delegated authentication
# (without it they log "missing content for CA bundle" forever) and for aggregated API servers.
t0=$SECONDS
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
for ca in ca front-proxy-ca; do
  key "$ca"
  openssl req -x509 -new -key "$ca.key" -out "$ca.crt" -days 1 -subj "/CN=calico-ts-smoke-$ca" 2>/dev/null
done
cert() { # cert NAME SUBJECT EXTENSIONS [CA]
  local ca="${4:-ca}"
  key "$1"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 1 -extfile "$1.ext" \
    -out "$1.crt" 2>/dev/null
}
serving="extendedKeyUsage=serverAuth"$'\n'"subjectAltName=IP:127.0.0.1,DNS:localhost"
cert apiserver /CN=kube-apiserver "$serving,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
cert kcm-serving /CN=kube-controller-manager "$serving"
cert sched-serving /CN=kube-scheduler "$serving"
cert admin "/O=system:masters/CN=calico-ts-admin" extendedKeyUsage=clientAuth
cert kcm /CN=system:kube-controller-manager extendedKeyUsage=clientAuth
cert sched /CN=system:kube-scheduler extendedKeyUsage=clientAuth
cert front-proxy-client /CN=front-proxy-client extendedKeyUsage=clientAuth front-proxy-ca
key sa
openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
for who in admin kcm sched; do
  kc=(--kubeconfig "$dir/$who.kubeconfig")
  "$kubectl" config "${kc[@]}" set-cluster smoke --server "https://127.0.0.1:$api_port" --certificate-authority ca.crt --embed-certs >/dev/null
  "$kubectl" config "${kc[@]}" set-credentials "$who" --client-certificate "$who.crt" --client-key "$who.key" --embed-certs >/dev/null
  "$kubectl" config "${kc[@]}" set-context smoke --cluster smoke --user "$who" >/dev/null
  "$kubectl" config "${kc[@]}" use-context smoke >/dev/null
done
ok "certificates, keys and kubeconfigs in $((SECONDS - t0)) s"

t0=$SECONDS
start etcd etcd --name smoke --data-dir "$dir/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
  --initial-cluster "smoke=http://127.0.0.1:$etcd_peer"
wait_for 60 "etcd healthy" curl -fsS "http://127.0.0.1:$etcd_port/health"
ok "etcd $(etcd --version | sed -n 's/^etcd Version: //p') healthy in $((SECONDS - t0)) s"

# The service range is configuration only (ClusterIPs are allocated, never routed here); with the endpoint
# reconciler off the API server does not publish its loopback address as the `kubernetes` Service's endpoint.
t0=$SECONDS
start kube-apiserver "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
  --tls-cert-file apiserver.crt --tls-private-key-file apiserver.key --client-ca-file ca.crt \
  --service-account-issuer https://kubernetes.default.svc --service-account-key-file sa.pub \
  --service-account-signing-key-file sa.key --authorization-mode Node,RBAC \
  --service-cluster-ip-range 10.96.0.0/24 --endpoint-reconciler-type none --profiling=false \
  --requestheader-client-ca-file front-proxy-ca.crt --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file front-proxy-client.crt --proxy-client-key-file front-proxy-client.key
wait_for 180 "kube-apiserver /readyz" k get --raw /readyz
ok "kube-apiserver ready in $((SECONDS - t0)) s"

versions="$(k version -o json)" || fail "kubectl version"
for side in clientVersion serverVersion; do
  v="$(printf '%s' "$versions" | node -p "JSON.parse(require('fs').readFileSync(0, 'utf8')).$side.gitVersion")"
  [ "$v" = "$release" ] || fail "kubectl version: $side is '$v', expected $release"
done
ok "kubectl version: client and server $release"

namespaces="$(k get namespaces -o name | sort | tr '\n' ' ')" || fail "kubectl get ns"
[ "$namespaces" = "namespace/default namespace/kube-node-lease namespace/kube-public namespace/kube-system " ] ||
  fail "kubectl get ns: $namespaces"
ok "kubectl get ns: $namespaces"

k create namespace production >/dev/null || fail "kubectl create namespace production"
k apply -f - >/dev/null <<'EOF' || fail "kubectl apply NetworkPolicy deny-all-ingress"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all-ingress
  namespace: production
spec:
  podSelector: {}
  policyTypes:
    - Ingress
EOF
got="$(k get networkpolicy deny-all-ingress -n production -o jsonpath='{.spec.policyTypes}')" ||
  fail "kubectl get networkpolicy deny-all-ingress"
[ "$got" = '["Ingress"]' ] || fail "kubectl get networkpolicy: policyTypes $got"
ok "kubectl apply / get NetworkPolicy production/deny-all-ingress"

k apply -f - >/dev/null <<'EOF' || fail "kubectl apply CustomResourceDefinition globalnetworkpolicies.crd.projectcalico.org"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: globalnetworkpolicies.crd.projectcalico.org
spec:
  group: crd.projectcalico.org
  names:
    kind: GlobalNetworkPolicy
    listKind: GlobalNetworkPolicyList
    plural: globalnetworkpolicies
    singular: globalnetworkpolicy
  scope: Cluster
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-preserve-unknown-fields: true
EOF
wait_for 60 "CRD established" k wait --for condition=Established --timeout 5s crd/globalnetworkpolicies.crd.projectcalico.org
k apply -f - >/dev/null <<'EOF' || fail "kubectl apply GlobalNetworkPolicy allow-dns"
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  selector: all()
  types: [Egress]
  egress:
    - action: Allow
      protocol: UDP
      destination:
        ports: [53]
EOF
got="$(k get globalnetworkpolicies.crd.projectcalico.org allow-dns -o jsonpath='{.spec.egress[0].destination.ports}')" ||
  fail "kubectl get globalnetworkpolicies.crd.projectcalico.org allow-dns"
[ "$got" = '[53]' ] || fail "kubectl get globalnetworkpolicies.crd.projectcalico.org: ports $got"
ok "kubectl apply CRD, wait Established, apply / get GlobalNetworkPolicy allow-dns"

t0=$SECONDS
common=(--bind-address 127.0.0.1 --client-ca-file ca.crt --leader-elect=true --profiling=false)
start kube-controller-manager "$bin/kube-controller-manager" "${common[@]}" --secure-port "$kcm_port" \
  --tls-cert-file kcm-serving.crt --tls-private-key-file kcm-serving.key \
  --kubeconfig kcm.kubeconfig --authentication-kubeconfig kcm.kubeconfig --authorization-kubeconfig kcm.kubeconfig \
  --use-service-account-credentials --service-account-private-key-file sa.key --root-ca-file ca.crt
start kube-scheduler "$bin/kube-scheduler" "${common[@]}" --secure-port "$sched_port" \
  --tls-cert-file sched-serving.crt --tls-private-key-file sched-serving.key \
  --kubeconfig sched.kubeconfig --authentication-kubeconfig sched.kubeconfig --authorization-kubeconfig sched.kubeconfig
holder() { k get lease "$1" -n kube-system -o jsonpath='{.spec.holderIdentity}'; }
has_holder() { [ -n "$(holder "$1")" ]; }
for component in kube-controller-manager:$kcm_port kube-scheduler:$sched_port; do
  name="${component%:*}"
  wait_for 120 "$name /healthz" curl -fsS --cacert ca.crt "https://127.0.0.1:${component#*:}/healthz"
  wait_for 120 "$name leader lease" has_holder "$name"
  ok "$name healthy and leader ($(holder "$name")) after $((SECONDS - t0)) s"
done

# The controller manager at work: the service-account controller gives the new namespace its `default` account,
# and the root-CA publisher its kube-root-ca.crt.
wait_for 60 "ServiceAccount production/default" k get serviceaccount default -n production
wait_for 60 "ConfigMap production/kube-root-ca.crt" k get configmap kube-root-ca.crt -n production
ok "kube-controller-manager created ServiceAccount production/default and ConfigMap kube-root-ca.crt"

# The scheduler at work: a Node reported Ready (no kubelet runs here: the status is written by hand), the controller
# manager lifts the not-ready taint the API server put on it at creation, and the scheduler binds a Pod to it.
k apply -f - >/dev/null <<'EOF' || fail "kubectl apply Node smoke-node"
apiVersion: v1
kind: Node
metadata:
  name: smoke-node
EOF
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
k patch node smoke-node --subresource status --type merge -p "{\"status\": {
  \"conditions\": [{\"type\": \"Ready\", \"status\": \"True\", \"reason\": \"Smoke\", \"lastHeartbeatTime\": \"$now\", \"lastTransitionTime\": \"$now\"}],
  \"capacity\": {\"cpu\": \"2\", \"memory\": \"4Gi\", \"pods\": \"10\"},
  \"allocatable\": {\"cpu\": \"2\", \"memory\": \"4Gi\", \"pods\": \"10\"}}}" >/dev/null ||
  fail "kubectl patch node smoke-node --subresource status"
k run web -n production --image registry.invalid/none:1 --restart Never >/dev/null || fail "kubectl run web"
bound() { [ "$(k get pod web -n production -o jsonpath='{.spec.nodeName}')" = smoke-node ]; }
wait_for 120 "Pod production/web bound to smoke-node" bound
ok "kube-scheduler bound Pod production/web to Node smoke-node"

for name in kube-controller-manager kube-scheduler; do
  ! grep -q "missing content for CA bundle" "$dir/$name.log" ||
    fail "$name: delegated authentication found no front-proxy CA in extension-apiserver-authentication"
done
ok "kube-controller-manager and kube-scheduler: delegated authentication has the front-proxy CA"

if [ ${#extra[@]} -gt 0 ]; then
  (cd "$origin" && KUBECONFIG="$dir/admin.kubeconfig" "${extra[@]}") || fail "${extra[*]}"
  ok "${extra[*]}"
fi

echo "$passed passed, 0 failed"
