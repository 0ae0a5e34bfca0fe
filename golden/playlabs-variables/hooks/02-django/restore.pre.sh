# restore.pre hook of plugin django, sourced by restore.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# django: current media set aside (deleted once the restore worked), the snapshot's takes its place.
mkdir -p "$PLC_RESTORE_DIR/previous"
if [ -d "$home/media" ]; then mv "$home/media" "$PLC_RESTORE_DIR/previous/media"; fi
if [ -d "$PLC_RESTORED/media" ]; then mv "$PLC_RESTORED/media" "$home/media"; else mkdir -p "$home/media"; fi
