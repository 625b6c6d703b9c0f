#!/usr/bin/env bash
# The nginx site: /static/ from the image, /media/ from the EFS mount, the rest proxied to
# gunicorn. Replaces the distribution's default site. Idempotent.
set -euo pipefail

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

BUILD_DIR=${BUILD_DIR:?BUILD_DIR must name the uploaded build folder}

install -m 0644 "$BUILD_DIR/files/nginx/cloudblog.conf" /etc/nginx/conf.d/cloudblog.conf
rm -f /etc/nginx/sites-enabled/default
# Amazon Linux's nginx.conf has its own default server on port 80.
if grep -q 'default_server' /etc/nginx/nginx.conf; then
    sed -i 's/ default_server//' /etc/nginx/nginx.conf
fi
nginx -t
log "done"
