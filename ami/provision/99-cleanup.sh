#!/usr/bin/env bash
# Last provisioner, always: scrub what must not be shared by every instance booted from
# the image (AWS guidance for shared AMIs). SSH host keys, every authorized_keys, shell
# history, package caches, logs, cloud-init's per-instance state and the machine id.
set -euo pipefail

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

BUILD_DIR=${BUILD_DIR:-/tmp/cloudblog-build}

rm -rf "$BUILD_DIR"
log "removing SSH host keys (each instance makes its own on first boot)"
rm -f /etc/ssh/ssh_host_*
log "removing authorized keys and shell history"
for home in /root /home/*; do
    [[ -d $home ]] || continue
    rm -f "$home/.ssh/authorized_keys" "$home"/.*_history "$home/.wget-hsts"
    rm -rf "$home/.cache/pip"
done
# Nothing instance-specific may be baked: the bootstrap writes these at boot.
rm -f /etc/cloudblog/cloudblog.env /etc/cloudblog/instance.env

log "removing package caches"
if command -v apt-get >/dev/null; then
    apt-get clean
    rm -rf /var/lib/apt/lists/*
fi
if command -v dnf >/dev/null; then
    dnf clean all
    rm -rf /var/cache/dnf
fi

log "emptying logs"
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
find /var/log -type f -exec truncate -s 0 {} +
rm -rf /var/log/journal/*

if command -v cloud-init >/dev/null; then
    log "cloud-init clean: logs, seed, instance state, machine id"
    cloud-init clean --logs --seed --machine-id
else
    # What --machine-id does: a fresh id is generated on first boot.
    [[ ! -e /etc/machine-id ]] || truncate -s 0 /etc/machine-id
    rm -f /var/lib/dbus/machine-id
fi
rm -rf /tmp/* /var/tmp/*
unset HISTFILE
log "done"
