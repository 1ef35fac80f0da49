#!/usr/bin/env bash
# etcd 3.5.16 (etcd, etcdctl, etcdutl) from Debian 13 (trixie)'s packages etcd-server and
# etcd-client, into .tools/etcd-3.5.16/, for the testbed's `--etcd 3.5` (TKGI 1.13 and later ship
# etcd 3.5; see README.md). The system's apt configuration is not changed: apt reads a private
# sources list and keeps its lists and cache under .tools/apt-trixie/. The binaries are static Go
# and run on Debian 12. Called by scripts/setup.sh; a second run checks the stamp and exits.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
ETCD35_VERSION=3.5.16
ETCD35_DEB_VERSION=3.5.16-4
ETCD35_DIR="$REPO/.tools/etcd-$ETCD35_VERSION"
APT_DIR="$REPO/.tools/apt-trixie"
MIRROR=${BOSH_ETCD_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

stamp="$ETCD35_DIR/.bosh-etcd-setup-stamp"
bin="$ETCD35_DIR/usr/bin"
if [ "$(cat "$stamp" 2>/dev/null)" = "$ETCD35_DEB_VERSION" ] && [ -x "$bin/etcd" ] && [ -x "$bin/etcdctl" ] \
   && [ -x "$bin/etcdutl" ]; then
  exit 0
fi
command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 \
  || die "etcd $ETCD35_VERSION comes from Debian 13's packages: apt-get and dpkg-deb are needed. Elsewhere, put etcd, etcdctl and etcdutl $ETCD35_VERSION into $bin/ and run again."

log "etcd $ETCD35_VERSION from Debian 13 (trixie) packages into .tools/etcd-$ETCD35_VERSION (the system's apt configuration stays as it is)"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] $MIRROR trixie main" > "$APT_DIR/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache" -o APT::Get::List-Cleanup=0)
if ! apt-get "${apt_private[@]}" -q update > "$APT_DIR/update.log" 2>&1; then
  tail -5 "$APT_DIR/update.log" >&2
  die "could not read Debian 13 (trixie)'s package index from $MIRROR (log: .tools/apt-trixie/update.log). Check that this machine reaches that repository (or set BOSH_ETCD_DEBIAN_MIRROR to a Debian mirror it reaches) and run again. The testbed's --etcd 3.4 (the system's etcd) works without it."
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! ( cd "$tmp" && apt-get "${apt_private[@]}" -q download "etcd-server=$ETCD35_DEB_VERSION" \
       "etcd-client=$ETCD35_DEB_VERSION" > "$APT_DIR/download.log" 2>&1 ); then
  tail -5 "$APT_DIR/download.log" >&2
  die "could not download etcd-server and etcd-client $ETCD35_DEB_VERSION from Debian 13 (log: .tools/apt-trixie/download.log). If trixie has moved to a newer revision, update ETCD35_DEB_VERSION in scripts/etcd-3.5.sh."
fi
rm -rf "$ETCD35_DIR"
mkdir -p "$ETCD35_DIR"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$ETCD35_DIR"; done
for b in etcd etcdctl etcdutl; do [ -x "$bin/$b" ] || die "$b is missing from the extracted packages (looked in $bin)"; done
v=$("$bin/etcd" --version 2>&1 | head -1)
case "$v" in "etcd Version: $ETCD35_VERSION") ;; *) die "$bin/etcd --version printed '$v', expected etcd Version: $ETCD35_VERSION";; esac
echo "$ETCD35_DEB_VERSION" > "$stamp"
log "etcd $ETCD35_VERSION ready in .tools/etcd-$ETCD35_VERSION/usr/bin"
