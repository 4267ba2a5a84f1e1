#!/usr/bin/env bash
# Installs what backup-drill's demo and tests need on a fresh Debian/Ubuntu
# machine: PostgreSQL server + client tools, the age CLI, and npm packages.
# Safe to re-run: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v pg_dump >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_dump >/dev/null 2>&1 || need+=(postgresql)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v age >/dev/null 2>&1 || need+=(age)
command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
command -v tar >/dev/null 2>&1 || need+=(tar)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)

if [ ${#need[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${need[@]}" | sort -u | tr '\n' ' ')
  echo "setup: installing $pkgs"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The Debian package starts a cluster we do not use; tests and the demo start their own.
  $SUDO apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "setup: ready (node $(node --version), $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' '), age $(age --version))"
