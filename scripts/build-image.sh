#!/usr/bin/env bash
# Builds the calico-ts image without a registry or a daemon: a Debian 12 root file system from Debian's archive
# (debootstrap, minbase, with nft, ip, ipset, conntrack, BIRD, socat), this machine's Node.js, and this checkout's
# built programs (dist/src without tests, node_modules, package.json, install-cni-kubernetes.sh; each bin of
# package.json linked into /usr/local/bin), committed with `buildah from scratch` as the Containerfile lays it out.
# Use it where the Containerfile's base image cannot be pulled. Needs root, debootstrap and buildah
# (apt-get install buildah debootstrap), and `npm run build` first.
#
#   scripts/build-image.sh [TAG]      default TAG: localhost/calico-ts:v<package.json version>
# The base root file system is kept in ${CALICO_TS_CACHE:-$HOME/.cache/calico-ts}/image/bookworm-rootfs.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
log() { echo "build-image: $*" >&2; }
die() {
  log "$*"
  exit 1
}
for tool in debootstrap buildah node; do command -v "$tool" >/dev/null || die "$tool not found (apt-get install debootstrap buildah)"; done
[ -f "$repo/dist/src/agent/main.js" ] || die "dist/ is not built: npm run build first"
version="$(node -p 'require(process.argv[1]).version' "$repo/package.json")"
tag="${1:-localhost/calico-ts:v$version}"
cache="${CALICO_TS_CACHE:-$HOME/.cache/calico-ts}/image"
base="$cache/bookworm-rootfs"
packages=nftables,iproute2,ipset,conntrack,bird2,socat,ca-certificates
t0=$(date +%s)
if [ ! -f "$base/.complete" ]; then
  log "debootstrap bookworm ($packages) into $base ..."
  rm -rf "$base"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include="$packages" bookworm "$base" http://deb.debian.org/debian >&2 ||
    die "debootstrap failed (see above)"
  touch "$base/.complete"
  log "root file system ready in $(($(date +%s) - t0)) s"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
cp -a "$base" "$root"
rm -f "$root/.complete"
install -D -m 0755 "$(command -v node)" "$root/usr/local/bin/node"
app="$root/opt/calico-ts"
mkdir -p "$app/dist" "$app/scripts"
cp "$repo/package.json" "$app/"
cp -r "$repo/dist/src" "$app/dist/"
find "$app/dist" \( -name '*.test.js' -o -name '*.map' \) -delete
cp -rL "$repo/node_modules" "$app/"
cp "$repo/scripts/install-cni-kubernetes.sh" "$app/scripts/"
node -e 'for (const [n, p] of Object.entries(require(process.argv[1]).bin)) console.log(n, p)' "$repo/package.json" |
  while read -r name path; do ln -sf "/opt/calico-ts/$path" "$root/usr/local/bin/$name"; done
ctr="$(buildah from scratch)"
buildah copy "$ctr" "$root" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --workingdir /opt/calico-ts --cmd calico-node "$ctr"
buildah commit --rm "$ctr" "$tag" >&2
log "$tag built in $(($(date +%s) - t0)) s"
echo "$tag"
