#!/usr/bin/env bash
# Installs what the torture suite needs from Debian, pinned to the installed server:
#   - the server's extension packages (PostGIS, ip4r, hll, semver, unit, debversion),
#     with postgresql-<major>, its client and libpq pinned to the installed server's
#     version in the same apt-get install, so apt never upgrades the server under us;
#   - the application packages whose PostgreSQL schemas the suite loads, downloaded
#     with `apt-get download` and unpacked into the cache (never installed: their
#     maintainer scripts would configure web servers and databases on this machine).
#
# Env: BACKUP_DRILL_TORTURE_CACHE (default ~/.cache/backup-drill-torture).
# Prints the folder that holds the unpacked application packages.
set -euo pipefail

log() { echo "install-packages: $*" >&2; }
[ "$(id -u)" = 0 ] || { log "run as root (apt-get install)"; exit 2; }

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { log "no PostgreSQL server in /usr/lib/postgresql: apt-get install -y postgresql"; exit 2; }
MAJOR=$(basename "$(dirname "$BIN")")
VERSION=$(dpkg-query -W -f='${Version}' "postgresql-$MAJOR")
CACHE=${BACKUP_DRILL_TORTURE_CACHE:-$HOME/.cache/backup-drill-torture}
APPS="$CACHE/apps"

EXTENSIONS="postgresql-$MAJOR-postgis-3 postgresql-$MAJOR-postgis-3-scripts postgresql-$MAJOR-ip4r postgresql-$MAJOR-hll postgresql-$MAJOR-semver postgresql-$MAJOR-unit postgresql-$MAJOR-debversion"
APP_PACKAGES="zabbix-server-pgsql roundcube-core mediawiki pdns-backend-pgsql bacula-director-pgsql icinga2-ido-pgsql"

# Packages that must move with libpq5 (else apt removes them to satisfy the pin).
installed_dev_pins() {
  for p in libpq-dev "postgresql-server-dev-$MAJOR"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && echo "$p=$VERSION"
  done
  return 0
}

missing=""
for p in $EXTENSIONS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
client=$(dpkg-query -W -f='${Version}' "postgresql-client-$MAJOR" 2>/dev/null || true)
if [ -n "$missing" ] || [ "$client" != "$VERSION" ]; then
  log "installing$missing (server pinned at $VERSION)"
  apt-get update -qq || true
  # shellcheck disable=SC2046,SC2086 # word splitting of the package lists is intended
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --allow-downgrades \
    "postgresql-$MAJOR=$VERSION" "postgresql-client-$MAJOR=$VERSION" "libpq5=$VERSION" $(installed_dev_pins) $EXTENSIONS >&2
fi

mkdir -p "$APPS/debs"
for p in $APP_PACKAGES; do
  [ -f "$APPS/$p.unpacked" ] && continue
  log "downloading and unpacking $p"
  (cd "$APPS/debs" && apt-get download -qq "$p" 2>/dev/null) || { apt-get update -qq && (cd "$APPS/debs" && apt-get download -qq "$p"); }
  deb=$(ls -t "$APPS/debs/${p}_"*.deb | head -1)
  dpkg-deb -x "$deb" "$APPS/root"
  basename "$deb" >"$APPS/$p.unpacked"
done
echo "$APPS/root"
