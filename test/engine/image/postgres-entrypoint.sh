#!/bin/bash
# docker-entrypoint.sh of the engine suite's PostgreSQL image (Debian's postgresql-15, made by
# test/engine/engine.ts), with the contract of the official image that plc's postgres plugin uses:
#   POSTGRES_PASSWORD  the superuser's password, required on an empty PGDATA
#                      (unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER      the superuser (default postgres); POSTGRES_DB its database (default the user)
#   PGDATA             the cluster directory (default /var/lib/postgresql/data)
# Started as root it only takes ownership of PGDATA and the socket directory, then runs again as
# postgres (uid 999). On an empty PGDATA: initdb, password logins over TCP (scram-sha-256), the
# database created by a socket-only temporary server. Then exec postgres (stop signal SIGINT).
set -Eeuo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  chmod 3775 /var/run/postgresql
  find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres {} +
  exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  db=${POSTGRES_DB:-$user}
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "docker-entrypoint.sh: the database is not initialised and POSTGRES_PASSWORD is empty" >&2
    exit 1
  fi
  initdb --username="$user" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") --auth-local=trust --auth-host="$auth"
  printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses='' -p 5432" --wait start
  if [ "$db" != postgres ]; then
    psql --no-psqlrc --set=ON_ERROR_STOP=1 --username="$user" --dbname=postgres --set=db="$db" <<<'CREATE DATABASE :"db";'
  fi
  pg_ctl --pgdata="$PGDATA" --mode=fast --wait stop
  echo "docker-entrypoint.sh: PostgreSQL init process complete; ready for start up."
fi
exec "$@"
