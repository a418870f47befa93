# shellcheck shell=bash
# pg_start starts a throwaway PostgreSQL from the machine's binaries on a
# temporary directory and a free port, as the postgres user when run as root
# (initdb refuses root); pg_stop stops it and removes the directory.
# After pg_start, PG_URL holds a connection URL.

pg_bindir() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  return 1
}

pg_as() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  local bin
  if ! bin=$(pg_bindir); then
    echo "PostgreSQL binaries not found; installing postgresql with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
    bin=$(pg_bindir)
  fi
  PG_DATA=$(mktemp -d /tmp/steward-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DATA"; fi
  PG_PORT=${PG_PORT:-$(( 54330 + RANDOM % 500 ))}
  pg_as "$bin/initdb" -D "$PG_DATA/db" -U postgres --auth=trust -E UTF8 --no-locale >"$PG_DATA/initdb.log" 2>&1 \
    || { cat "$PG_DATA/initdb.log" >&2; return 1; }
  # The superuser is trusted (tests connect as postgres); every other role
  # must present its SCRAM password, so that the rotation tests can prove an
  # old password is refused.
  printf '%s\n' 'local all all trust' 'host all postgres 127.0.0.1/32 trust' 'host all all 127.0.0.1/32 scram-sha-256' \
    | pg_as tee "$PG_DATA/db/pg_hba.conf" >/dev/null
  pg_as "$bin/pg_ctl" -D "$PG_DATA/db" -l "$PG_DATA/db/log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA -c fsync=off -c max_connections=300" >/dev/null \
    || { cat "$PG_DATA/db/log" >&2; return 1; }
  PG_BINDIR=$bin
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
  export PG_URL PG_DATA PG_BINDIR
  echo "PostgreSQL running at $PG_URL (data in $PG_DATA)"
}

pg_stop() {
  if [ -n "${PG_DATA:-}" ] && [ -d "$PG_DATA/db" ]; then
    pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DATA/db" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DATA"
  fi
}
