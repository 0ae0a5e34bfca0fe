# deploy.pre hook of plugin postgres, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# postgres: start (or keep) the database container, then wait until it accepts connections.
pg=project-staging-postgres
pg_image=postgres:17
if [ "$(docker inspect --format '{{.Config.Image}} {{.State.Running}}' "$pg" 2>/dev/null)" != "$pg_image true" ]; then
  docker image inspect "$pg_image" >/dev/null 2>&1 || docker pull --quiet "$pg_image" >/dev/null || die "cannot pull $pg_image"
  docker network inspect project-staging >/dev/null 2>&1 || docker network create project-staging >/dev/null
  docker rm -f "$pg" >/dev/null 2>&1 || true
  # The password travels by name (--env), from the root-only secrets files, never on a command line.
  (
    set -a
    # shellcheck source=/dev/null
    if [ -f "$home/.host-secrets.env" ]; then . "$home/.host-secrets.env"; fi
    # shellcheck source=/dev/null
    if [ -f "$home/.secrets.env" ]; then . "$home/.secrets.env"; fi
    set +a
    POSTGRES_PASSWORD=$DB_PASSWORD
    POSTGRES_USER=project_staging
    POSTGRES_DB=project_staging
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
      postgres:17 >/dev/null
  ) || die "cannot start $pg"
fi
# Not a fixed sleep: ask the server until it answers or the timeout passes.
deadline=$(($(date +%s) + 120))
until docker exec "$pg" pg_isready --quiet --username project_staging --dbname project_staging; do
  [ "$(date +%s)" -lt "$deadline" ] || die "$pg does not accept connections after 120s"
  sleep 1
done
