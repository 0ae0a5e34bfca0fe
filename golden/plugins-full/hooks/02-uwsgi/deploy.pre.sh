# deploy.pre hook of plugin uwsgi, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# uwsgi: one directory per sub-spooler, owned like the spooler itself.
