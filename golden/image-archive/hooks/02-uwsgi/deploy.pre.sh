# deploy.pre hook of plugin uwsgi, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# uwsgi: one directory per sub-spooler, owned like the spooler itself.
mkdir -p /home/project-staging/spooler/mail
chown "$(stat -c %u:%g "$home/spooler")" /home/project-staging/spooler/mail
mkdir -p /home/project-staging/spooler/stat
chown "$(stat -c %u:%g "$home/spooler")" /home/project-staging/spooler/stat
