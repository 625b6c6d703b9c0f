#!/usr/bin/env bash
# The unprivileged service user and the folders it runs with. Idempotent.
# The code under /opt/cloudblog stays root-owned: the service cannot rewrite itself.
set -euo pipefail

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

SERVICE_USER=${SERVICE_USER:-cloudblog}
MEDIA_MOUNT=${MEDIA_MOUNT:-/mnt/cloudblog-media}

if id -u "$SERVICE_USER" >/dev/null 2>&1; then
    log "user $SERVICE_USER exists"
else
    log "creating system user $SERVICE_USER"
    useradd --system --user-group --home-dir /opt/cloudblog --no-create-home \
        --shell /usr/sbin/nologin "$SERVICE_USER"
fi

install -d -m 0755 -o root -g root /opt/cloudblog
# /etc/cloudblog holds the root-only env file that cloudblog-bootstrap writes at boot.
install -d -m 0755 -o root -g root /etc/cloudblog
install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" /var/log/cloudblog
# The EFS mount point; the file system's own root decides ownership once mounted.
install -d -m 0755 "$MEDIA_MOUNT"
log "done"
