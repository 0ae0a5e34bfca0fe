# backup.pre hook of plugin django, sourced by backup.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# django: media files go in the snapshot.
printf '%s\n' "$home/media" >>"$PLC_BACKUP_LIST"
