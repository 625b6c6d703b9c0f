#!/usr/bin/env bash
# OS packages of the golden image: Python, nginx, the MariaDB client library (mysqlclient
# builds against it), NFS utilities for EFS, and what building the wheel's deps needs.
# Idempotent: installs only what is missing. Ubuntu/Debian (apt) or Amazon Linux 2023 (dnf).
set -euo pipefail

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }

# shellcheck source=/dev/null
. /etc/os-release
family="${ID:-} ${ID_LIKE:-}"

if [[ $family == *debian* || $family == *ubuntu* ]]; then
    export DEBIAN_FRONTEND=noninteractive
    # amazon-efs-utils is not in the Debian/Ubuntu archives: EFS is mounted as NFS 4.1.
    packages=(python3 python3-venv python3-dev gcc pkg-config libmariadb-dev nginx
        nfs-common ca-certificates curl)
    missing=()
    for package in "${packages[@]}"; do
        # shellcheck disable=SC2016  # ${Status} is dpkg-query's field
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$package")
    done
    if ((${#missing[@]} == 0)); then
        log "all packages present"
    else
        log "installing: ${missing[*]}"
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
elif [[ $family == *amzn* || $family == *fedora* || $family == *rhel* ]]; then
    # Amazon Linux 2023 ships amazon-efs-utils (TLS mounts) and the CloudWatch agent.
    packages=(python3.11 python3.11-devel gcc pkgconf-pkg-config mariadb-connector-c-devel
        nginx nfs-utils amazon-efs-utils amazon-cloudwatch-agent)
    log "installing (dnf skips what is present): ${packages[*]}"
    dnf install -y -q "${packages[@]}"
else
    log "unsupported distribution: ${PRETTY_NAME:-unknown}" >&2
    exit 1
fi
log "done"
