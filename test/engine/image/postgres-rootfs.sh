#!/bin/sh
# Run by mmdebstrap inside the PostgreSQL rootfs (test/engine/engine.ts): the layout of the official
# image: postgres is uid/gid 999, no default cluster, a world-writable socket directory, servers
# listening on every address of their container.
set -e
groupmod -g 999 postgres
usermod -u 999 -g 999 postgres
chown -R postgres:postgres /var/lib/postgresql /var/log/postgresql /etc/postgresql 2>/dev/null || :
mkdir -p /var/run/postgresql /var/lib/postgresql/data /docker-entrypoint-initdb.d
chown postgres:postgres /var/run/postgresql /var/lib/postgresql/data
chmod 3777 /var/run/postgresql
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/15/postgresql.conf.sample
rm -rf /var/cache/apt/* /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/locale/*
