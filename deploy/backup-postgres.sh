#!/bin/sh
# Nightly PostgreSQL backup, e.g. from the commandcenter user's crontab:
#   15 3 * * * /opt/commandcenter/deploy/backup-postgres.sh /var/backups/commandcenter
# Keeps 14 days of custom-format dumps (restore with pg_restore, see docs/deploy.md).
set -eu
dir=${1:-/var/backups/commandcenter}
db=${PGDATABASE:-commandcenter}
mkdir -p "$dir"
pg_dump --format=custom --file="$dir/$db-$(date +%F).dump.tmp" "$db"
mv "$dir/$db-$(date +%F).dump.tmp" "$dir/$db-$(date +%F).dump"
find "$dir" -name "$db-*.dump" -mtime +14 -delete
