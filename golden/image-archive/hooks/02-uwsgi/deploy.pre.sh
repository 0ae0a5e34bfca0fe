# deploy.pre hook of plugin uwsgi, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# uwsgi: one directory per sub-spooler. The spooler belongs to the container, which may have put a
# link anywhere in it: the sub-spoolers are made as the image's user, never by root, and a link
# there (the container's own doing) is left alone with a warning rather than failing the deploy.
spooler=/home/project-staging/spooler/mail
if [ -L "$spooler" ]; then
  say "warning: $spooler is a link the container made; left as it is" >&2
else
  as_image_user mkdir -p "$spooler"
fi
spooler=/home/project-staging/spooler/stat
if [ -L "$spooler" ]; then
  say "warning: $spooler is a link the container made; left as it is" >&2
else
  as_image_user mkdir -p "$spooler"
fi
