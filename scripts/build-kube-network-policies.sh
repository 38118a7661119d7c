#!/usr/bin/env bash
# Builds the upstream reference NetworkPolicy implementation, sigs.k8s.io/kube-network-policies, at the version
# pinned in tools/kube-network-policies/go.mod, from the Go module proxy, into a cache outside git:
# ${CALICO_TS_CACHE:-$HOME/.cache/calico-ts}/kube-network-policies/<version>/bin/kube-network-policies.
# The module's source is copied out of the module cache and tools/kube-network-policies/nfqueue-xt.patch is applied
# (the one deviation from upstream: the xtables NFQUEUE target in place of the nftables `queue` statement, which
# kernels without nft_queue refuse; docs/design/peer.md). A binary whose stamp (go.mod, go.sum, the patch, Go
# version, flags) is current is not built again. The last line printed on stdout is the bin directory; progress and
# timings go to stderr. The Go build runs under `nice -n 19`. Not run by setup.sh: `npm run bench -- --only peer`
# builds it on demand.
#
#   scripts/build-kube-network-policies.sh           build if missing or stale, print the bin directory
#   scripts/build-kube-network-policies.sh --check   print the bin directory if the binary is current, else exit 1
#   scripts/build-kube-network-policies.sh --force   rebuild
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
moddir="$repo/tools/kube-network-policies"
module=sigs.k8s.io/kube-network-policies
program=kube-network-policies

log() { echo "build-kube-network-policies: $*" >&2; }
die() {
  log "$*"
  exit 1
}

mode=build
while [ $# -gt 0 ]; do
  case "$1" in
    --check) mode=check ;;
    --force) mode=force ;;
    -h | --help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

command -v go >/dev/null || die "go not found on PATH: Go 1.26 or newer is needed to build $module"
cache="${CALICO_TS_CACHE:-$HOME/.cache/calico-ts}"
# The same module and build caches as scripts/build-kubernetes.sh (never the user's Go caches).
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS="-modcacherw -buildvcs=false"
export CGO_ENABLED=0 GOWORK=off

version="$(awk -v m="$module" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$moddir/go.mod")"
[ -n "$version" ] || die "tools/kube-network-policies/go.mod requires no $module version"
root="$cache/kube-network-policies/$version"
bin="$root/bin"
ldflags="-s -w"
stamp_of() {
  { cat "$moddir/go.mod" "$moddir/go.sum" "$moddir/nfqueue-xt.patch"; go version; echo "$ldflags"; } | sha256sum | cut -d' ' -f1
}
current() { [ -x "$bin/$program" ] && [ -f "$bin/.$program.stamp" ] && [ "$(cat "$bin/.$program.stamp")" = "$(stamp_of)" ]; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d", ($14 + $15) / hz }' "/proc/$$/stat"; }

if [ "$mode" = check ]; then
  current || die "$program $version is not built (or is stale) in $bin"
  echo "$bin"
  exit 0
fi
if [ "$mode" = build ] && current; then
  log "$program $version is current"
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
t_start=$(date +%s)
c_start=$(cpu_seconds)
(cd "$moddir" && go mod download) || die "go mod download failed for $module $version (is the Go module proxy reachable?)"
upstream="$(cd "$moddir" && go list -m -f '{{.Dir}}' "$module")"
[ -d "$upstream" ] || die "$module $version is not in the module cache after go mod download"
log "modules ready in $(($(date +%s) - t_start)) s"

# The patched copy of the module, and a build go.mod (ours plus a replace pointing at the copy) beside it, used
# with -modfile so that tools/kube-network-policies/go.mod stays the plain upstream pin.
src="$root/src"
rm -rf "$src" "$root/build.mod" "$root/build.sum"
cp -r "$upstream" "$src"
chmod -R u+w "$src"
patch -s -p1 -d "$src" <"$moddir/nfqueue-xt.patch" || die "nfqueue-xt.patch does not apply to $module $version"
cp "$moddir/go.mod" "$root/build.mod"
cp "$moddir/go.sum" "$root/build.sum"
(cd "$moddir" && go mod edit -modfile="$root/build.mod" -replace="$module=$src")

log "building $program $version with nfqueue-xt.patch (nice -n 19) ..."
t0=$(date +%s)
(cd "$moddir" && nice -n 19 go build -modfile="$root/build.mod" -trimpath -ldflags "$ldflags" -o "$bin/.$program.tmp" "$module/cmd") ||
  die "go build $module/cmd ($version) failed (see above)"
mv -f "$bin/.$program.tmp" "$bin/$program"
stamp_of >"$bin/.$program.stamp"
log "$program built in $(($(date +%s) - t0)) s, $(($(cpu_seconds) - c_start)) s of CPU ($(du -h "$bin/$program" | cut -f1));" \
  "total $(($(date +%s) - t_start)) s"
echo "$bin"
