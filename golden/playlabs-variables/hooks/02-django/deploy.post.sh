# deploy.post hook of plugin django, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# django: superusers of this instance, from the inventory's users (passwords from the secrets file).
# A user without a password keeps the one it has; only a new one gets an unusable password.
