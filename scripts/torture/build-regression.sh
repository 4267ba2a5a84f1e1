#!/usr/bin/env bash
# Builds the PostgreSQL regression database for the installed server and caches
# the stopped cluster, so the torture suite starts in seconds on later runs.
#
#   scripts/torture/build-regression.sh            # prints the cached data dir
#
# Steps (each skipped when its result is already there):
#   1. a deb-src line for the distribution's own mirror (same suites as the deb lines);
#   2. apt-get source postgresql-<major>=<installed version> into the cache;
#   3. postgresql-server-dev-<major>=<installed version> (PGXS, pg_regress), pinning
#      postgresql-<major> to the installed version in the same install so apt does
#      not upgrade the server under us;
#   4. regress.so built with PGXS and installed into the server's pkglibdir (the
#      regression database's C functions name that path, and restores load it);
#   5. pg_regress --schedule=parallel_schedule against a throwaway cluster run as
#      the unprivileged postgres user; the output diffs are expected (`triggers`
#      differs in output only) and are not failures: we want the database;
#   6. the stopped cluster is copied to <cache>/cluster-<version>.
#
# Env: BACKUP_DRILL_TORTURE_CACHE (default ~/.cache/backup-drill-torture).
# Must run as root (apt-get, chown); the server itself runs as `postgres`.
set -euo pipefail

log() { echo "build-regression: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "run as root (apt-get install and the postgres user are needed)"; exit 2; }

PG_CONFIG=$(ls -d /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PG_CONFIG" ]; then
  BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
else
  BIN=$(dirname "$PG_CONFIG")
fi
[ -n "${BIN:-}" ] || { log "no PostgreSQL server in /usr/lib/postgresql: apt-get install -y postgresql"; exit 2; }
MAJOR=$(basename "$(dirname "$BIN")")
SERVER_PKG="postgresql-$MAJOR"
VERSION=$(dpkg-query -W -f='${Version}' "$SERVER_PKG")
CACHE=${BACKUP_DRILL_TORTURE_CACHE:-$HOME/.cache/backup-drill-torture}
CLUSTER="$CACHE/cluster-$VERSION"
PKGLIBDIR=/usr/lib/postgresql/$MAJOR/lib

install_regress_lib() {
  # The regression database's C functions reference $PKGLIBDIR/regress.so.
  if [ -f "$CACHE/regress-$VERSION.so" ] && ! cmp -s "$CACHE/regress-$VERSION.so" "$PKGLIBDIR/regress.so"; then
    install -m 0755 "$CACHE/regress-$VERSION.so" "$PKGLIBDIR/regress.so"
  fi
}

if [ -f "$CLUSTER/PG_VERSION" ] && [ -f "$CACHE/regress-$VERSION.so" ]; then
  install_regress_lib
  log "cached: $CLUSTER"
  echo "$CLUSTER"
  exit 0
fi

mkdir -p "$CACHE"

add_deb_src() {
  local target=/etc/apt/sources.list.d/backup-drill-torture-src.sources
  [ -f "$target" ] && return 0
  : >"$target.tmp"
  for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/ubuntu.sources; do
    [ -f "$f" ] || continue
    grep -q '^Types:.*deb-src' "$f" && continue
    sed -e 's/^Types: deb$/Types: deb-src/' "$f" >>"$target.tmp"
    echo >>"$target.tmp"
  done
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb https?://[^ ]*(debian|ubuntu)[^ ]* ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
      >/etc/apt/sources.list.d/backup-drill-torture-src.list || rm -f /etc/apt/sources.list.d/backup-drill-torture-src.list
  fi
  if [ -s "$target.tmp" ]; then mv "$target.tmp" "$target"; else rm -f "$target.tmp"; fi
  apt-get update -qq
}

SRC_PARENT="$CACHE/source-$VERSION"
fetch_source() {
  if ls -d "$SRC_PARENT"/postgresql-"$MAJOR"-*/src/test/regress >/dev/null 2>&1; then return 0; fi
  add_deb_src
  command -v dpkg-source >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev
  mkdir -p "$SRC_PARENT"
  (cd "$SRC_PARENT" && apt-get source -qq "$SERVER_PKG=$VERSION")
}

# Every package built from the server's source, pinned to the server's version:
# without the pins apt would upgrade the server, its client or libpq under us.
server_pins() {
  echo "$SERVER_PKG=$VERSION" "postgresql-client-$MAJOR=$VERSION" "libpq5=$VERSION" "libpq-dev=$VERSION"
}

install_dev() {
  if [ "$(dpkg-query -W -f='${Version}' "postgresql-server-dev-$MAJOR" 2>/dev/null || true)" = "$VERSION" ]; then return 0; fi
  # shellcheck disable=SC2046
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --allow-downgrades \
    $(server_pins) "postgresql-server-dev-$MAJOR=$VERSION" make gcc
}

fetch_source
install_dev
SRC=$(ls -d "$SRC_PARENT"/postgresql-"$MAJOR"-*/ | head -1)
SRC=${SRC%/}
PG_CONFIG=$BIN/pg_config
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config)

WORK=$(mktemp -d /tmp/backup-drill-regress-XXXXXX)
trap 'runuser -u postgres -- "$BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

log "building regress.so with PGXS ($PG_CONFIG)"
mkdir "$WORK/lib"
cp "$SRC/src/test/regress/regress.c" "$WORK/lib/"
cat >"$WORK/lib/Makefile" <<MK
MODULES = regress
PG_CONFIG = $PG_CONFIG
PGXS := \$(shell \$(PG_CONFIG) --pgxs)
include \$(PGXS)
MK
make -s -C "$WORK/lib" >/dev/null
cp "$WORK/lib/regress.so" "$CACHE/regress-$VERSION.so"
install_regress_lib

log "running the parallel_schedule with pg_regress (a few minutes)"
cp -r "$SRC/src/test/regress" "$WORK/regress"
chown -R postgres: "$WORK"
runuser -u postgres -- "$BIN/initdb" -D "$WORK/data" -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
  --auth-local=trust --auth-host=scram-sha-256 >/dev/null
mkdir "$WORK/sock" && chown postgres: "$WORK/sock"
cat >>"$WORK/data/postgresql.auto.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$WORK/sock'
fsync = off
max_prepared_transactions = 2
autovacuum = off
CONF
runuser -u postgres -- "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
REGRESS=$("$PG_CONFIG" --pgxs | sed 's#src/makefiles/pgxs.mk#src/test/regress/pg_regress#')
set +e
(cd "$WORK/regress" && runuser -u postgres -- env PGHOST="$WORK/sock" PGPORT=5432 "$REGRESS" \
  --inputdir=. --outputdir="$WORK/regress" --bindir="$BIN" --dlpath="$PKGLIBDIR" \
  --max-concurrent-tests=20 --schedule=parallel_schedule --host="$WORK/sock" --port=5432 \
  >"$WORK/regress.out" 2>&1)
status=$?
set -e
tail -5 "$WORK/regress.out" >&2
cp "$WORK/regress.out" "$CACHE/regress-$VERSION.out"
[ -f "$WORK/regress/regression.diffs" ] && cp "$WORK/regress/regression.diffs" "$CACHE/regress-$VERSION.diffs"
TABLES=$(runuser -u postgres -- "$BIN/psql" -h "$WORK/sock" -At -d regression -c \
  "SELECT count(*) FROM pg_class WHERE relkind IN ('r','p') AND relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)" || echo 0)
log "pg_regress exit $status; regression database has $TABLES tables"
if [ "${TABLES:-0}" -lt 100 ]; then log "the regression database looks incomplete: see $CACHE/regress-$VERSION.out"; exit 1; fi
runuser -u postgres -- "$BIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null
# Forget this run's socket dir; the suite writes its own settings when it starts a copy.
sed -i -e '/^unix_socket_directories/d' -e '/^listen_addresses/d' "$WORK/data/postgresql.auto.conf"
rm -rf "$CLUSTER.tmp" && cp -a "$WORK/data" "$CLUSTER.tmp" && mv "$CLUSTER.tmp" "$CLUSTER"
log "cached: $CLUSTER"
echo "$CLUSTER"
