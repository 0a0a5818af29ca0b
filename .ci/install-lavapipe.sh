#!/usr/bin/env bash
# Installs Mesa 25's lavapipe (software Vulkan) from bookworm-backports when no
# Vulkan driver is present. Debian bookworm's own Mesa 22 is too old for Dawn.
set -euo pipefail
# Each ICD folder is looked at on its own: either may be missing or empty while the other holds
# the driver (one `ls` of both globs failed whenever one was empty, reinstalling Mesa every run).
icds=""
for dir in /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
  [ -d "$dir" ] || continue
  for f in "$dir"/*.json; do
    [ -f "$f" ] && icds="$icds $(basename "$f")"
  done
done
if [ -n "$icds" ]; then
  echo "vulkan driver present:$icds"
  exit 0
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
