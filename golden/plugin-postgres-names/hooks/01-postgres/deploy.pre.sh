# deploy.pre hook of plugin postgres, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# postgres: start (or keep) the database container, then wait until it accepts connections.
pg=ybs-hack-postgres
pg_image=postgres:17
ready_timeout=120
# shellcheck disable=SC2034 # not every hook needs both
db_name=ybs-hack
db_user=ybs-hack
if [ "$(docker container inspect --format '{{.Config.Image}} {{.State.Running}}' "$pg" 2>/dev/null)" != "$pg_image true" ]; then
  docker image inspect "$pg_image" >/dev/null 2>&1 || docker pull --quiet "$pg_image" >/dev/null || die "cannot pull $pg_image"
  # A server never opens a data directory of another major version (a playlabs host ran postgres:10):
  # the image itself says which major it runs (its tag may be latest or a custom name).
  if [ -f "$home/postgres/data/PG_VERSION" ]; then
    data_major=$(cat "$home/postgres/data/PG_VERSION")
    image_version=$(docker run --rm --entrypoint postgres "$pg_image" --version) || die "cannot ask $pg_image for its PostgreSQL version; nothing was changed"
    # "postgres (PostgreSQL) 17.2 (Debian …)": the major is 17; before 10 it was two numbers (9.6).
    image_major=$(printf '%s\n' "$image_version" | sed -n -e 's/^postgres (PostgreSQL) \([1-9][0-9][0-9]*\)[.a-z].*/\1/p' \
      -e 's/^postgres (PostgreSQL) \([1-9]\.[0-9][0-9]*\)[.a-z].*/\1/p')
    [ -n "$image_major" ] || die "cannot read the PostgreSQL version of $pg_image from: $image_version; nothing was changed"
    if [ "$data_major" != "$image_major" ]; then
      upgrade_from=$data_major
    fi
  fi
  # postgres_upgrade: the server that runs the old data dumps it; the data moves aside, never deleted.
  if [ -n "${upgrade_from:-}" ]; then
    kept=$home/postgres/data.$upgrade_from
    dump=$home/postgres/upgrade-$upgrade_from.sql
    [ ! -e "$kept" ] || die "$kept exists (an earlier upgrade?): move it away, then deploy again; nothing was changed"
    say "upgrading PostgreSQL $upgrade_from to $image_major: dumping with $pg"
    [ "$(docker container inspect --format '{{.State.Running}}' "$pg" 2>/dev/null)" = true ] || docker start "$pg" >/dev/null 2>&1 || die "no container $pg to dump the PostgreSQL $upgrade_from data with; nothing was changed. Start one on $home/postgres/data, or keep postgres_image=postgres:$upgrade_from"
    deadline=$(($(date +%s) + ready_timeout))
    until docker exec "$pg" pg_isready --quiet --username "$db_user" --dbname "$db_name"; do
      [ "$(date +%s)" -lt "$deadline" ] || die "$pg (PostgreSQL $upgrade_from) does not accept connections; nothing was changed"
      sleep 1
    done
    if ! docker exec "$pg" pg_dumpall --clean --if-exists --username "$db_user" >"$dump.partial"; then
      rm -f "$dump.partial"
      die "pg_dumpall by PostgreSQL $upgrade_from failed; nothing was changed"
    fi
    if ! tail -n 3 "$dump.partial" | grep -q 'PostgreSQL database cluster dump complete'; then
      rm -f "$dump.partial"
      die "the PostgreSQL $upgrade_from dump is incomplete; nothing was changed"
    fi
    mv "$dump.partial" "$dump"
    docker stop --time 30 "$pg" >/dev/null
    docker rm -f "$pg" >/dev/null
    mv "$home/postgres/data" "$kept"
    mkdir -m 0700 "$home/postgres/data"
  fi
  docker network inspect ybs-hack >/dev/null 2>&1 || docker network create ybs-hack >/dev/null
  # The server's stop signal (SIGINT: a fast shutdown) and time to finish, never a SIGKILL mid-write.
  docker stop --time 30 "$pg" >/dev/null 2>&1 || true
  docker rm -f "$pg" >/dev/null 2>&1 || true
  # The password travels by name (--env), from the root-only secrets files, never on a command line.
  (
    POSTGRES_PASSWORD=$(secret_value DB_PASSWORD) || exit 1
    POSTGRES_USER=$db_user
    POSTGRES_DB=$db_name
    # Explicit: postgres:18 images moved their default PGDATA out of the mounted directory.
    PGDATA=/var/lib/postgresql/data
    export POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB PGDATA
    exec docker run --detach --name ybs-hack-postgres \
      --restart unless-stopped \
      --network ybs-hack \
      --label plc.instance=ybs-hack \
      --mount type=bind,source=/home/ybs-hack/postgres/data,target=/var/lib/postgresql/data \
      --mount type=bind,source=/home/ybs-hack/postgres/run,target=/var/run/postgresql \
      --env POSTGRES_PASSWORD --env POSTGRES_USER --env POSTGRES_DB --env PGDATA \
      postgres:17 >/dev/null
  ) || die "cannot start $pg"
fi
# Not a fixed sleep: ask the server until it answers or the timeout passes.
deadline=$(($(date +%s) + ready_timeout))
until docker exec "$pg" pg_isready --quiet --username "$db_user" --dbname "$db_name"; do
  [ "$(date +%s)" -lt "$deadline" ] || die "$pg does not accept connections after ${ready_timeout}s"
  sleep 1
done
if [ -n "${upgrade_from:-}" ]; then
  say "loading the PostgreSQL $upgrade_from dump into PostgreSQL $image_major"
  # Errors on roles and databases the new server already has are expected (as in restore.sh), not fatal.
  docker exec -i "$pg" psql --quiet --no-psqlrc --username "$db_user" --dbname postgres >/dev/null <"$dump" ||
    die "loading the PostgreSQL $upgrade_from dump failed: it is in $dump, the old data in $kept (move it back to $home/postgres/data and keep postgres_image=postgres:$upgrade_from)"
  # The dump carries the old role password; the app connects with DB_PASSWORD.
  (
    DB_PASSWORD=$(secret_value DB_PASSWORD) || exit 1
    export DB_PASSWORD
    # shellcheck disable=SC2016 # psql runs the backquote in the container, where DB_PASSWORD is set
    printf '%s\n' '\set password `printf "%s" "$DB_PASSWORD"`' 'ALTER ROLE :"user" PASSWORD :'"'"'password'"'"';' |
      docker exec -i --env DB_PASSWORD "$pg" psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 --set "user=$db_user" --username "$db_user" --dbname postgres >/dev/null
  ) || die "cannot set the password of $db_user after the upgrade; the old data is in $kept"
  rm -f "$dump"
  say "PostgreSQL $upgrade_from to $image_major done; the old data stays in $kept until you remove it"
fi
