#!/bin/sh
# A throwaway PostgreSQL cluster for the tiled tests: a temporary folder, loopback only.
#
#   URI=$(.ci/postgres.sh)          start one; prints postgresql://postgres@127.0.0.1:PORT/tiled
#   .ci/postgres.sh stop "$URI"     stop it and delete its folder
#
# The tests read the URI from INTAKE_INGEST_POSTGRES_URI (or start a cluster with this
# script themselves). initdb refuses to run as root: as root (CI), the cluster belongs to
# the 'postgres' user Debian's package makes (or 'nobody'), through runuser.
set -eu

BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    echo "postgres.sh: no PostgreSQL server (initdb) under /usr/lib/postgresql/*/bin; install Debian's postgresql" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$OWNER" -- "$@"
    else
        "$@"
    fi
}

if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then OWNER=postgres; else OWNER=nobody; fi
fi

if [ "${1:-}" = stop ]; then
    PORT=$(echo "${2:?usage: postgres.sh stop URI}" | sed -n 's#.*:\([0-9][0-9]*\)/.*#\1#p')
    DIR=${TMPDIR:-/tmp}/intake-ingest-postgres-$PORT
    [ -d "$DIR" ] || { echo "postgres.sh: no cluster of port $PORT ($DIR)" >&2; exit 1; }
    OWNER=$(stat -c %U "$DIR")
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    exit 0
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DIR=${TMPDIR:-/tmp}/intake-ingest-postgres-$PORT
mkdir -m 700 "$DIR"
if [ "$(id -u)" = 0 ]; then chown "$OWNER" "$DIR"; fi
as_owner "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; rm -rf "$DIR"; exit 1; }
# Loopback only, the socket in the cluster's folder, no fsync (throwaway data).
as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -F" start >/dev/null \
    || { cat "$DIR/server.log" >&2; rm -rf "$DIR"; exit 1; }
as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres tiled
echo "postgresql://postgres@127.0.0.1:$PORT/tiled"
