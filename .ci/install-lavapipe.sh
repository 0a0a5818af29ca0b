#!/usr/bin/env bash
# Installs Mesa 25's lavapipe (software Vulkan) from bookworm-backports when no
# Vulkan driver is present. Debian bookworm's own Mesa 22 is too old for Dawn.
set -euo pipefail
if ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
  if [ -n "$(ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>/dev/null | grep -v '^$')" ]; then
    echo "vulkan driver present: $(ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>/dev/null | tr '\n' ' ')"
    exit 0
  fi
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
src=/etc/apt/sources.list.d/debian.sources
if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  uri=$(awk '/^URIs:/{print $2; exit}' "$src" 2>/dev/null || true)
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
    | $SUDO tee /etc/apt/sources.list.d/backports.sources >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "installed: $(ls /usr/share/vulkan/icd.d/ | tr '\n' ' ')"
