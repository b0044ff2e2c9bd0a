#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries (the batch jobs' fleet-store tests make a throwaway
# cluster with initdb in a temporary folder, tests/http/postgres_support.py); a no-op when they are there.
# Only the binaries are wanted: the package's own cluster, if it makes one, is stopped and not used.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
sudo_=""
[ "$(id -u)" -eq 0 ] || sudo_="sudo"
$sudo_ apt-get update
$sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
ls -d /usr/lib/postgresql/*/bin/initdb
