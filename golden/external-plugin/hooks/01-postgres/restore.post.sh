# restore.post hook of plugin postgres, sourced by restore.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# postgres: load the snapshot's dump into the fresh server.
pg=project-staging-postgres
# shellcheck disable=SC2034 # not every hook needs both
db_name=project-staging
db_user=project-staging
if [ -f "$PLC_RESTORED/.backup/postgres.sql" ]; then
  # The server made the role it runs as (POSTGRES_USER): the dump's DROP and CREATE of that role can
  # only fail, so they are left out, and any other error stops the load.
  role=$(printf '%s' "$db_user" | sed 's/[].[*^$\\/]/\\&/g')
  # playlabs dumped with --clean alone: DROP ROLE without IF EXISTS.
  sed -e "/^DROP ROLE \(IF EXISTS \)\{0,1\}\"\{0,1\}$role\"\{0,1\};\$/d" -e "/^CREATE ROLE \"\{0,1\}$role\"\{0,1\};\$/d" "$PLC_RESTORED/.backup/postgres.sql" |
    docker exec -i "$pg" psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 --username "$db_user" --dbname postgres >/dev/null ||
    die "loading the postgres dump failed"
fi
