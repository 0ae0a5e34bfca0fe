# restore.pre hook of plugin postgres, sourced by restore.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# postgres: stop the server, set its data aside (deleted only once the restore worked), start it empty.
pg=project-staging-postgres
# A snapshot holds a dump, or (taken with no server container) the data directory's files.
[ -f "$PLC_RESTORED/.backup/postgres.sql" ] || [ -f "$PLC_RESTORED/postgres/data/PG_VERSION" ] || die "the snapshot holds no postgres dump and no postgres data"
# The image the server ran: the restored data gets the same one (deploy.pre.sh below, when postgres_image is left to its default).
# shellcheck disable=SC2034
pg_image_before=$(docker container inspect --format '{{.Config.Image}}' "$pg" 2>/dev/null) || pg_image_before=
docker stop --time 30 "$pg" >/dev/null 2>&1 || true
docker rm -f "$pg" >/dev/null 2>&1 || true
mkdir -p "$PLC_RESTORE_DIR/previous"
if [ -d "$home/postgres/data" ]; then mv "$home/postgres/data" "$PLC_RESTORE_DIR/previous/postgres-data"; fi
if [ -f "$PLC_RESTORED/.backup/postgres.sql" ]; then
  mkdir -m 0700 "$home/postgres/data"
else
  mv "$PLC_RESTORED/postgres/data" "$home/postgres/data"
fi
# postgres: start (or keep) the database container, then wait until it accepts connections.
pg=project-staging-postgres
pg_image=postgres:17
ready_timeout=120
# shellcheck disable=SC2034 # not every hook needs both
db_name=project-staging
db_user=project-staging
# postgres_image left to its default: a server running here (playlabs ran postgres:10) keeps its image,
# a data directory without one gets the image of its own major, an empty one (restore.sh loading a
# dump) the image that ran before: never upgraded unasked.
running=$(docker container inspect --format '{{.Config.Image}} {{.State.Running}}' "$pg" 2>/dev/null) || running=
case $running in
  *" true")
    if [ "${running% true}" != "$pg_image" ]; then
      pg_image=${running% true}
      say "keeping $pg on $pg_image (set postgres_image, and postgres_upgrade=true for another major, to change it)"
    fi
    ;;
  *)
    if [ -f "$home/postgres/data/PG_VERSION" ]; then
      data_major=$(cat "$home/postgres/data/PG_VERSION")
      case $data_major in
        [1-9] | [1-9][0-9] | [1-9].[0-9]) ;;
        *) die "$home/postgres/data/PG_VERSION says '$data_major', not a PostgreSQL major; nothing was changed" ;;
      esac
      # The default image when it runs that major already (asked only when this host has it), else
      # the image of the data's own major.
      image_major=
      if docker image inspect "$pg_image" >/dev/null 2>&1; then
        image_major=$(docker run --rm --entrypoint postgres "$pg_image" --version 2>/dev/null | sed -n 's/^postgres (PostgreSQL) \([0-9][0-9]*\).*/\1/p') || image_major=
      fi
      if [ "$image_major" != "$data_major" ]; then
        pg_image=postgres:$data_major
        say "$home/postgres/data holds PostgreSQL $data_major data: $pg runs $pg_image"
      fi
    elif [ -n "${pg_image_before:-}" ]; then
      pg_image=$pg_image_before
    fi
    ;;
esac
# The cluster's role is the one of its first deploy: earlier plc builds named it <prefix>_<instance>,
# playlabs and plc since <prefix>-<instance>. A release that named another role stops here.
if [ -f "$home/postgres/data/PG_VERSION" ] && [ -f "$home/current/env" ] && grep -q '^DB_USER=' "$home/current/env" &&
  ! grep -qxF DB_USER=project-staging "$home/current/env"; then
  die "the running release connects to $pg as $(sed -n 's/^DB_USER=//p' "$home/current/env"), this one as $db_user: nothing was changed. Keep the role with postgres_user=… postgres_db=… (docs/migrating-from-playlabs.md)"
fi
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
      die "$home/postgres/data holds PostgreSQL $data_major data, $pg_image runs PostgreSQL $image_major: nothing was changed. Keep $data_major with postgres_image=postgres:$data_major, or upgrade it with postgres_upgrade=true (docs/host.md, Upgrading PostgreSQL)"
    fi
  fi
  docker network inspect project-staging >/dev/null 2>&1 || docker network create project-staging >/dev/null
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
    exec docker run --detach --name project-staging-postgres \
      --restart unless-stopped \
      --network project-staging \
      --label plc.instance=project-staging \
      --mount type=bind,source=/home/project-staging/postgres/data,target=/var/lib/postgresql/data \
      --mount type=bind,source=/home/project-staging/postgres/run,target=/var/run/postgresql \
      --env POSTGRES_PASSWORD --env POSTGRES_USER --env POSTGRES_DB --env PGDATA \
      "$pg_image" >/dev/null
  ) || die "cannot start $pg"
fi
# Not a fixed sleep: ask the server until it answers or the timeout passes.
deadline=$(($(date +%s) + ready_timeout))
until docker exec "$pg" pg_isready --quiet --username "$db_user" --dbname "$db_name"; do
  [ "$(date +%s)" -lt "$deadline" ] || die "$pg does not accept connections after ${ready_timeout}s"
  sleep 1
done

