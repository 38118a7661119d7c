#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for calico-ts: Debian packages (only those missing), npm dependencies
# (only when package-lock.json changed since the last install), the upstream Kubernetes programs and helm (built
# once), then the TypeScript build.
# Idempotent; safe to run before every command. Needs root for apt-get (the project's tests need root anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  nftables iproute2 iptables ipset conntrack iputils-ping socat
  etcd-server etcd-client bird2 gobgpd iperf3 containernetworking-plugins
  python3 make g++ dnsmasq-base tcpdump
  chromium prometheus
)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install Debian packages (run as root or with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts some daemons on install; the project starts its own copies on test ports.
  for svc in etcd bird gobgpd prometheus; do
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi

stamp=node_modules/.calico-ts-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci (better-sqlite3 compiles from source; this takes a minute or two)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

# The upstream Kubernetes programs (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl) at the release
# pinned in tools/kubernetes/go.mod, built once from the Go module proxy into ${CALICO_TS_CACHE:-~/.cache/calico-ts}
# (docs/design/kubernetes.md). The first build takes 8 to 18 minutes on 2 cores; later runs only check stamps.
# CALICO_TS_KUBERNETES=skip leaves them out. A failed build does not stop the set-up: the Kubernetes tests and
# `calico-lab up --kubernetes` then say that the programs are not built.
if [ "${CALICO_TS_KUBERNETES:-build}" = skip ]; then
  echo "setup: CALICO_TS_KUBERNETES=skip: not building the Kubernetes programs"
elif ! bash scripts/build-kubernetes.sh --check >/dev/null 2>&1; then
  if ! command -v go >/dev/null; then
    echo "setup: WARNING: no Go on PATH (Go 1.26 is needed to build the Kubernetes programs); Kubernetes tests will skip" >&2
  else
    echo "setup: building the Kubernetes programs from the Go module proxy (the first time takes 8 to 18 minutes)"
    t0=$(date +%s)
    if bash scripts/build-kubernetes.sh >/dev/null || bash scripts/build-kubernetes.sh >/dev/null; then
      echo "setup: Kubernetes programs built in $(($(date +%s) - t0)) s"
    else
      echo "setup: WARNING: building the Kubernetes programs failed twice (see above); Kubernetes tests will skip" >&2
    fi
  fi
fi

# helm (helm.sh/helm/v4, pinned in tools/helm/go.mod), built the same way into the same cache, for
# `npm run manifests` and the test that renders charts/calico (docs/design/manifests.md).
# CALICO_TS_HELM=skip leaves it out; a failed build is a warning and those tests skip saying why.
if [ "${CALICO_TS_HELM:-build}" = skip ]; then
  echo "setup: CALICO_TS_HELM=skip: not building helm"
elif ! bash scripts/build-helm.sh --check >/dev/null 2>&1; then
  if ! command -v go >/dev/null; then
    echo "setup: WARNING: no Go on PATH: helm is not built; the helm test skips" >&2
  else
    echo "setup: building helm from the Go module proxy (the first time takes about 4 minutes of CPU, 17 minutes on a busy machine)"
    t0=$(date +%s)
    if bash scripts/build-helm.sh >/dev/null; then
      echo "setup: helm built in $(($(date +%s) - t0)) s"
    else
      echo "setup: WARNING: building helm failed (see above); the helm test skips" >&2
    fi
  fi
fi

echo "setup: building"
npm run --silent build
