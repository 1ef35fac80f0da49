#!/usr/bin/env bash
# One idempotent setup for `npm test`, `npm run sandbox` and `npm run bench`.
#
#   1. Debian packages the testbed and the VS Code host need (apt-get update + install, only when
#      something is missing). Services that apt starts (sshd, monit, etcd) are stopped again: the
#      testbed runs its own, per simulated VM.
#   2. User `vcap` (locked password, like a BOSH stemcell), which the testbed's etcd runs as.
#   3. `npm ci` when node_modules is missing or stale against package-lock.json.
#   4. etcd 3.5.16 (etcd, etcdctl, etcdutl) from Debian 13's packages into .tools/etcd-3.5.16 for the
#      testbed's default `--etcd 3.5` (scripts/etcd-3.5.sh; the system's etcd 3.4 stays for `--etcd 3.4`).
#   5. code-server 4.100.3 into .tools/code-server from its own lockfile (tools/code-server/), with
#      the four workarounds marked "Workaround N" below, so that it installs with only the npm registry
#      and the Debian repositories reachable.
#
# A second run checks stamps and exits within seconds. Not root / not Debian: it lists what is
# missing and how to install it, and exits 1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
CS_DIR="$REPO/.tools/code-server"
CS_VERSION=4.100.3
# @vscode/ripgrep version pinned by code-server 4.100.3's lib/vscode/npm-shrinkwrap.json and the
# ripgrep-prebuilt release its postinstall downloads (lib/postinstall.js VERSION).
VSCODE_RIPGREP_VERSION=1.15.11
RG_PREBUILT=v13.0.0-10

APT_PKGS=(etcd-server etcd-client openssh-server monit chromium libkrb5-dev ripgrep iproute2 sudo
          build-essential python3 pkg-config)
# Commands each package must provide (how a non-Debian machine is checked).
declare -A PKG_CMD=([etcd-server]=etcd [etcd-client]=etcdctl [openssh-server]=/usr/sbin/sshd [monit]=monit
  [chromium]=chromium [libkrb5-dev]=krb5-config [ripgrep]=rg [iproute2]=ip [sudo]=sudo
  [build-essential]=make [python3]=python3 [pkg-config]=pkg-config)

log() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

t0=$(date +%s)

# ---------------------------------------------------------------- node
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" != 20 ]; then
  die "node 20 is required (found: $(node -v 2>/dev/null || echo none)). code-server $CS_VERSION, the newest that runs on node 20, hosts the tests. Install node 20 (e.g. the NodeSource deb: https://deb.nodesource.com, or \`nvm install 20\`) and run again."
fi
if [ ! -f /usr/include/node/node_api.h ] && [ ! -f "$(dirname "$(dirname "$(command -v node)")")/include/node/node_api.h" ]; then
  log "warning: node headers not found next to node; code-server's native modules need them (node-gyp would try to download them)."
fi

# ---------------------------------------------------------------- apt packages
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${APT_PKGS[@]}"; do pkg_installed "$p" || missing+=("$p"); done
else
  for p in "${APT_PKGS[@]}"; do command -v "${PKG_CMD[$p]:-$p}" >/dev/null 2>&1 || missing+=("$p"); done
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    {
      echo "[setup] Missing system packages: ${missing[*]}"
      if command -v apt-get >/dev/null 2>&1; then
        echo "[setup] This script installs them only when run as root. Run as root, or install them first:"
        echo "          sudo apt-get update && sudo apt-get install -y ${missing[*]}"
      else
        echo "[setup] This is not a Debian/Ubuntu machine (no apt-get). Install the equivalents of: ${missing[*]}"
        echo "          (commands needed: $(for p in "${missing[@]}"; do printf '%s ' "${PKG_CMD[$p]:-$p}"; done))"
        echo "          The tests and the sandbox also need root (the testbed uses mount namespaces and per-VM sshd)."
      fi
    } >&2
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  # Keep apt's maintainer scripts from starting sshd/monit/etcd as system services: the testbed
  # runs its own. policy-rc.d exit 101 = "action forbidden" (honoured by invoke-rc.d and
  # deb-systemd-invoke). Only when no policy is in place already.
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_added=1
  fi
  trap '[ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
  [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
  trap - EXIT
  # Belt and braces: if a service got started anyway, stop and disable the ones we just installed.
  declare -A SVC=([etcd-server]=etcd [openssh-server]=ssh [monit]=monit)
  for p in "${missing[@]}"; do
    s=${SVC[$p]:-}; [ -n "$s" ] || continue
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now "$s" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
      service "$s" stop >/dev/null 2>&1 || true
    fi
  done
  # Check: nothing from these packages may be left listening (the testbed binds 127.0.0.x:22/2379).
  if command -v ss >/dev/null 2>&1; then
    left=$(ss -Hltnp 2>/dev/null | grep -E '"(etcd|sshd|monit)"' | grep -E ':(22|2379|2380|2812) ' || true)
    [ -z "$left" ] || log "warning: still listening after install (stop these system services): $left"
  fi
fi

# ---------------------------------------------------------------- user vcap
if ! id vcap >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then die "user vcap is missing; as root: useradd -m -s /bin/bash vcap && passwd -l vcap"; fi
  log "creating user vcap (locked password, like a stemcell)"
  useradd -m -s /bin/bash vcap
  passwd -l vcap >/dev/null
fi
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd

# ---------------------------------------------------------------- npm ci
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.bosh-etcd-setup-stamp
if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$lock_hash" ]; then
  :
elif [ -d node_modules ] && [ ! -f "$stamp" ] && npm ls --all >/dev/null 2>&1; then
  # Installed before this script existed and consistent with the lockfile: adopt it rather than
  # deleting a working tree (others may be using it right now).
  echo "$lock_hash" > "$stamp"
else
  log "npm ci (node_modules missing or stale against package-lock.json)"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > "$stamp"
fi

# ---------------------------------------------------------------- etcd 3.5
bash "$REPO/scripts/etcd-3.5.sh"

# ---------------------------------------------------------------- code-server
cs_hash=$(cat tools/code-server/package.json tools/code-server/package-lock.json | sha256sum | cut -d' ' -f1)
cs_stamp="$CS_DIR/.bosh-etcd-setup-stamp"
cs_bin="$CS_DIR/node_modules/.bin/code-server"
cs_vscode="$CS_DIR/node_modules/code-server/lib/vscode"
if [ "$(cat "$cs_stamp" 2>/dev/null)" = "$cs_hash" ] && [ -x "$cs_bin" ] \
   && [ -x "$cs_vscode/node_modules/@vscode/ripgrep/bin/rg" ] && [ -f "$cs_vscode/node_modules/node-pty/build/Release/pty.node" ]; then
  :
else
  command -v rg >/dev/null 2>&1 || die "ripgrep (rg) is missing: apt-get install ripgrep"
  log "installing code-server $CS_VERSION into .tools/code-server (about 70 s: native modules compile)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  cp tools/code-server/package.json tools/code-server/package-lock.json "$CS_DIR/"
  tmp="$REPO/.tools/tmp"
  rm -rf "$tmp"; mkdir -p "$tmp/vscode-ripgrep-cache-$VSCODE_RIPGREP_VERSION" "$tmp/rgstage"
  # Workaround 3: @vscode/ripgrep's postinstall downloads rg from GitHub unless its cache in
  # $TMPDIR holds the tarball; Debian's ripgrep 13.0.0 is the same upstream version.
  cp "$(command -v rg)" "$tmp/rgstage/rg"
  tar czf "$tmp/vscode-ripgrep-cache-$VSCODE_RIPGREP_VERSION/ripgrep-$RG_PREBUILT-x86_64-unknown-linux-musl.tar.gz" -C "$tmp/rgstage" rg
  # Workaround 1: npm_config_unsafe_perm (code-server's postinstall refuses root without it).
  # Workaround 2: npm_config_yes (node-pty's postinstall runs `npx node-gyp`, which would prompt).
  # Workaround 4: libkrb5-dev (apt above) for the kerberos module's source build.
  ( cd "$CS_DIR" && TMPDIR="$tmp" npm_config_unsafe_perm=true npm_config_yes=true \
      npm ci --foreground-scripts --no-audit --no-fund > "$REPO/.tools/code-server-install.log" 2>&1 ) || {
    tail -40 "$REPO/.tools/code-server-install.log" >&2
    die "code-server install failed; full log: .tools/code-server-install.log"
  }
  [ -x "$cs_vscode/node_modules/@vscode/ripgrep/bin/rg" ] || die "code-server installed without ripgrep (see .tools/code-server-install.log)"
  [ -f "$cs_vscode/node_modules/node-pty/build/Release/pty.node" ] || die "code-server installed without node-pty (see .tools/code-server-install.log)"
  rm -rf "$tmp"
  # XDG_*: keep code-server from writing ~/.config/code-server and ~/.local/share/code-server.
  v=$(XDG_CONFIG_HOME="$REPO/.tools/xdg-config" XDG_DATA_HOME="$REPO/.tools/xdg-data" "$cs_bin" --version 2>&1 | grep -E '^[0-9]+\.[0-9]+\.[0-9]+ ' | head -1)
  case "$v" in "$CS_VERSION "*) ;; *) die "code-server --version did not print $CS_VERSION (got: '$v'); see .tools/code-server-install.log";; esac
  echo "$cs_hash" > "$cs_stamp"
  log "code-server $v ready"
fi

[ -x /usr/bin/chromium ] || [ -n "${CHROMIUM:-}" ] || die "chromium not found at /usr/bin/chromium (apt-get install chromium, or set CHROMIUM=/path/to/chrome)"

if [ "$(id -u)" != 0 ]; then
  log "note: not root. The simulated cluster (test tiers testbed/extension/e2e, npm run sandbox) needs root: mount namespaces, loopback addresses, an sshd per VM."
fi
log "ok ($(( $(date +%s) - t0 )) s)"
