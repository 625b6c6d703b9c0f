#!/usr/bin/env bash
# systemd units: cloudblog-bootstrap (one-shot, enabled: runs at every boot), and the
# services it starts by role: cloudblog-web (gunicorn) + nginx, or cloudblog-worker;
# cloudblog-ready reports readiness. Idempotent.
set -euo pipefail

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

BUILD_DIR=${BUILD_DIR:?BUILD_DIR must name the uploaded build folder}
UNIT_DIR=/etc/systemd/system
WANTS=$UNIT_DIR/multi-user.target.wants

install -m 0644 "$BUILD_DIR"/files/systemd/*.service "$UNIT_DIR/"
log "installed: $(cd "$BUILD_DIR/files/systemd" && echo *.service)"

# `systemctl enable/disable` work offline too, but a minimal root file system (the test
# chroot) has no systemctl: then make the same symlinks ourselves.
enable() {
    if command -v systemctl >/dev/null; then
        systemctl enable "$1"
    else
        install -d "$WANTS"
        ln -sfn "$UNIT_DIR/$1" "$WANTS/$1"
    fi
}
disable() {
    if command -v systemctl >/dev/null; then
        systemctl disable "$1" 2>/dev/null || true
    fi
    rm -f "$WANTS/$1"
}

enable cloudblog-bootstrap.service
# Started by cloudblog-bootstrap for the instance's role, never straight at boot: a web
# or worker process must not run on a half-configured instance.
for unit in cloudblog-web.service cloudblog-worker.service cloudblog-ready.service \
    nginx.service; do
    disable "$unit"
done
if [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
fi
log "done"
