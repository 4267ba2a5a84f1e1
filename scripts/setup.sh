#!/usr/bin/env bash
# Installs what backup-drill's demo and tests need on a fresh Debian/Ubuntu
# machine: PostgreSQL server + client tools, the age CLI, npm packages, and a
# Node.js >= 22 (Node 24 from the npm registry into .tools/node24 when this
# machine's Node is older; `npm test` and `npm run demo` pick it up themselves).
# Safe to re-run: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v pg_dump >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_dump >/dev/null 2>&1 || need+=(postgresql)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v age >/dev/null 2>&1 || need+=(age)
# Dumps are zstd-compressed on every core by the zstd command (Node's zlib is the slower fallback).
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v sha256sum >/dev/null 2>&1 || need+=(coreutils)
# The toolchain tests build a local apt repository (dpkg-scanpackages) and extract packages (dpkg-deb).
command -v dpkg-scanpackages >/dev/null 2>&1 || need+=(dpkg-dev)
# The upgrade-rehearsal test (npm run test:majors) needs a third-party extension the newer majors' servers lack.
for v in /usr/lib/postgresql/*/; do
  [ -d "$v" ] || continue
  major=$(basename "$v")
  [ -f "/usr/share/postgresql/$major/extension/ip4r.control" ] || need+=("postgresql-$major-ip4r")
done
command -v tar >/dev/null 2>&1 || need+=(tar)
# openssh-server: the SSH suite (test/integration/ssh.test.ts) starts a real sshd; ssh-keygen makes its keys.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# zsh and fish: the completion scripts are tested in them (test/unit/completion.test.ts).
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)

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
# backup-drill needs Node >= 22. scripts/node.mjs prints the folder of a Node that fits
# (this one, or Node 24 it installs into .tools/node24).
node_bin=$(node scripts/node.mjs)
echo "setup: ready (node $("$node_bin/node" --version), $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' '), age $(age --version))"
if [ "$node_bin" != "$(dirname "$(command -v node)")" ]; then
  echo "setup: this machine's node is $(node --version); npm test and npm run demo use $node_bin/node."
  echo "setup: to use it in this shell too: export PATH=\"$node_bin:\$PATH\""
fi
