#!/usr/bin/env bash
# The application release: the cloudblog wheel (built from this repo by `make ami`) into
# a virtualenv under /opt/cloudblog, its static files collected, a `cloudblog-manage`
# command. Idempotent: the venv is reused, the wheel reinstalled, static files rebuilt.
set -euo pipefail

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }
die() {
    printf '[%s] error: %s\n' "${0##*/}" "$*" >&2
    exit 1
}

BUILD_DIR=${BUILD_DIR:?BUILD_DIR must name the uploaded build folder}
APP_VERSION=${APP_VERSION:?APP_VERSION must be set}
GIT_SHA=${GIT_SHA:-unknown}
HOME_DIR=/opt/cloudblog
VENV=$HOME_DIR/venv

shopt -s nullglob
wheels=("$BUILD_DIR"/dist/cloudblog-*.whl)
((${#wheels[@]} == 1)) || die "expected one cloudblog wheel in $BUILD_DIR/dist, found ${#wheels[@]}"
wheel=${wheels[0]}

python=$(command -v python3.11 || command -v python3) || die "no python3 found"
if [[ -x $VENV/bin/python ]]; then
    log "reusing $VENV"
else
    log "creating $VENV with $python"
    "$python" -m venv "$VENV"
fi

# An empty index URL would break pip; a set one (credentials included) lives only in
# this process's environment.
[[ -n ${PIP_INDEX_URL:-} ]] || unset PIP_INDEX_URL
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
log "installing ${wheel##*/} with the MySQL and Redis clients"
"$VENV/bin/pip" install --quiet "${wheel}[services]"
# Same version, new build: replace the package itself, keep the dependencies.
"$VENV/bin/pip" install --quiet --no-deps --force-reinstall "$wheel"

printf '%s+%s\n' "$APP_VERSION" "${GIT_SHA:0:12}" >"$HOME_DIR/RELEASE"
log "release $(cat "$HOME_DIR/RELEASE")"

conf=$("$VENV/bin/python" -c \
    'import config, pathlib; print(pathlib.Path(config.__file__).parent / "gunicorn.conf.py")')
ln -sfn "$conf" "$HOME_DIR/gunicorn.conf.py"

cat >/usr/local/bin/cloudblog-manage <<'SH'
#!/bin/sh
# manage.py for the installed release, with the instance's configuration, as the service user.
exec /opt/cloudblog/venv/bin/python -m userdata.bootstrap manage "$@"
SH
chmod 0755 /usr/local/bin/cloudblog-manage

# collectstatic with production settings needs some secret key: a throwaway one that
# exists only in this subshell's environment, never on disk.
log "collecting static files into $HOME_DIR/static"
scratch=$(mktemp -d)
(
    export DJANGO_SETTINGS_MODULE=config.settings DJANGO_DEBUG=false \
        STATIC_ROOT="$HOME_DIR/static" CLOUDBLOG_VAR_DIR="$scratch"
    DJANGO_SECRET_KEY=${BUILD_SECRET_KEY:-$("$VENV/bin/python" -c \
        'import secrets; print(secrets.token_urlsafe(50))')}
    export DJANGO_SECRET_KEY
    "$VENV/bin/django-admin" collectstatic --noinput --clear --verbosity 0
)
rm -rf "$scratch"
log "done"
