#!/usr/bin/env bash
# Ensure a Chromium binary is available (installs the Debian package if missing),
# then print its version.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-chromium: 'chromium' not found on PATH and not running as root;" >&2
    echo "  install it with: sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium" >&2
    exit 1
  fi
  echo "ensure-chromium: installing chromium via apt-get..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  hash -r
  if ! command -v chromium >/dev/null 2>&1; then
    echo "ensure-chromium: apt-get install finished but 'chromium' is still not on PATH" >&2
    exit 1
  fi
fi

# Debian's /usr/bin/chromium wrapper sources /etc/chromium.d/dev-shm, which can print a
# harmless "[: ...: unexpected operator" warning when /dev/shm is mounted more than once
# (common in containers). Hide stderr unless the version query actually fails.
if ! version="$(chromium --version 2>/dev/null)"; then
  chromium --version
  exit 1
fi
echo "$version"
