#!/usr/bin/env bash
# Installs Debian's redis-server (the vector cache's shared-store tests start a throwaway one);
# a no-op when it is there.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
sudo_=""
[ "$(id -u)" -eq 0 ] || sudo_="sudo"
$sudo_ apt-get update
$sudo_ apt-get install -y redis-server
redis-server --version
