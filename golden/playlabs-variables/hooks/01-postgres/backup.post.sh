# backup.post hook of plugin postgres, sourced by backup.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# postgres: the dump is in the snapshot; it does not stay on disk.
rm -f "$PLC_BACKUP_DIR/postgres.sql" "$PLC_BACKUP_DIR/postgres.sql.partial"
