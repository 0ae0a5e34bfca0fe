# deploy.pre hook of plugin redis, sourced by install.sh in a subshell.
# shellcheck shell=sh disable=SC2154
# redis: one container on the project network.
docker rm -f project-staging-redis >/dev/null 2>&1 || true
docker run --detach --name project-staging-redis --network project-staging \
  --label plc.instance=project-staging redis:7 redis-server >/dev/null
