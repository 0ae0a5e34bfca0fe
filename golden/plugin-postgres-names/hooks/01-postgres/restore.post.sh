# restore.post hook of plugin postgres, sourced by restore.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# postgres: load the snapshot's dump into the fresh server.
pg=ybs-hack-postgres
# shellcheck disable=SC2034 # not every hook needs both
db_name=ybs-hack
db_user=ybs-hack
docker exec -i "$pg" psql --quiet --no-psqlrc --username "$db_user" --dbname postgres >/dev/null <"$PLC_RESTORED/.backup/postgres.sql" || die "loading the postgres dump failed"
