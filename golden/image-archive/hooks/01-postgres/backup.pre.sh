# backup.pre hook of plugin postgres, sourced by backup.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# postgres: dump every database to a file, check it is complete, add it to the backup list (or, with
# no server container, the data directory's files).
# Never piped into restic --stdin: a failing pg_dumpall would go unnoticed.
pg=project-staging-postgres
# shellcheck disable=SC2034 # not every hook needs both
db_name=project_staging
db_user=project_staging
dump=$PLC_BACKUP_DIR/postgres.sql
if docker container inspect "$pg" >/dev/null 2>&1 || [ ! -f "$home/postgres/data/PG_VERSION" ]; then
  docker exec "$pg" pg_dumpall --clean --if-exists --username "$db_user" >"$dump.partial" || die "pg_dumpall failed"
  tail -n 3 "$dump.partial" | grep -q 'PostgreSQL database cluster dump complete' || die "the postgres dump is incomplete"
  mv "$dump.partial" "$dump"
  printf '%s\n' "$dump" >>"$PLC_BACKUP_LIST"
else
  # No server container at all (uninstall.sh removed it, data kept): no server can write the data
  # directory, so its files are a consistent copy; restore.sh puts them back as they are.
  say "no $pg container: backing up the files of $home/postgres/data"
  printf '%s\n' "$home/postgres/data" >>"$PLC_BACKUP_LIST"
fi
