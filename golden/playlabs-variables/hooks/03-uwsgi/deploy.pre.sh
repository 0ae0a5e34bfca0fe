# deploy.pre hook of plugin uwsgi, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# uwsgi: one directory per sub-spooler. The spooler belongs to the container, which may have put a
# link anywhere in it: the sub-spoolers are made as the image's user, never by root, and a link
# there (the container's own doing) is left alone with a warning rather than failing the deploy.
