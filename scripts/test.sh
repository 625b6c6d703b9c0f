#!/usr/bin/env bash
# Run the checks CI runs, on any Debian-like machine:
#   1. install missing OS packages (as root, with apt-get),
#   2. start MariaDB and Redis when they are installed but not running,
#   3. install the project with its test extras into .venv,
#   4. ruff check, ruff format --check, then pytest.
#
# Usage: scripts/test.sh [pytest arguments]      e.g. make test ARGS="-k comments"
#        RUN_SLOW_TESTS=1 scripts/test.sh           the slower tiers too (make test-all)
# Environment: TEST_DATABASE_URL, TEST_REDIS_URL point at other servers; PYTHON picks the
# interpreter that makes .venv; WAIT_SECONDS bounds the wait for a server to start.
# The exit status is pytest's (or 1 when a step before it fails).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
WAIT_SECONDS=${WAIT_SECONDS:-30}
DEFAULT_DATABASE_URL=mysql://root@127.0.0.1:3306/cloudblog
export DATABASE_URL=${TEST_DATABASE_URL:-$DEFAULT_DATABASE_URL}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
# The slower tiers (the local cluster's fault tests, the provisioning scripts in a
# debootstrapped chroot) run only when asked: RUN_SLOW_TESTS=1 (make test-all), `-m cluster`,
# `-m slow` or their folder named (tests/conftest.py).

step() { printf '\n==> %s\n' "$*"; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
is_root() { [[ $(id -u) -eq 0 ]]; }

# scheme://user:password@host:port/path -> host, and port (or the default given).
url_authority() {
    local rest=${1#*://}
    rest=${rest%%/*}
    printf '%s' "${rest##*@}"
}
url_host() {
    local authority
    authority=$(url_authority "$1")
    printf '%s' "${authority%%:*}"
}
url_port() {
    local authority
    authority=$(url_authority "$1")
    if [[ $authority == *:* ]]; then printf '%s' "${authority##*:}"; else printf '%s' "$2"; fi
}
without_password() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }
is_local() { [[ $1 == 127.0.0.1 || $1 == localhost ]]; }

# shellcheck disable=SC2016  # $0 and $1 are the inner shell's arguments
listening() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

wait_for() {
    local name=$1 host=$2 port=$3 i
    printf 'Waiting for %s on %s:%s ' "$name" "$host" "$port"
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        if listening "$host" "$port"; then
            printf ' up\n'
            return 0
        fi
        printf '.'
        sleep 1
    done
    printf '\n'
    return 1
}

pkg_installed() {
    # shellcheck disable=SC2016  # ${Status} is dpkg-query's field, not a shell variable
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

DB_HOST=127.0.0.1 DB_PORT=3306 MANAGE_DB=false IS_MYSQL=false
if [[ $DATABASE_URL == mysql://* || $DATABASE_URL == mariadb://* ]]; then
    IS_MYSQL=true
    DB_HOST=$(url_host "$DATABASE_URL")
    DB_PORT=$(url_port "$DATABASE_URL" 3306)
    is_local "$DB_HOST" && MANAGE_DB=true
fi
REDIS_HOST=$(url_host "$REDIS_URL")
REDIS_PORT=$(url_port "$REDIS_URL" 6379)
MANAGE_REDIS=false
is_local "$REDIS_HOST" && MANAGE_REDIS=true

step "cloudblog tests: DATABASE_URL=$(without_password "$DATABASE_URL")" \
    "REDIS_URL=$(without_password "$REDIS_URL")"

# --- 1. OS packages ---------------------------------------------------------------
step "Checking OS packages"
needed=()
if command -v dpkg-query >/dev/null; then
    # haproxy: the load balancer of the local cluster tests (tests/cluster).
    # packer, cloud-init, shellcheck, debootstrap: the golden AMI and user-data checks.
    # mariadb-client: mariadb-dump and mariadb for manage.py backup/restore (tests/maintenance/test_backup.py).
    # nginx: the AMI's and the Beanstalk bundle's /media/ served for real (tests/ami/test_nginx_media.py).
    for package in libmariadb-dev pkg-config chromium haproxy packer cloud-init shellcheck \
        debootstrap systemd mariadb-client nginx; do
        pkg_installed "$package" || needed+=("$package")
    done
    command -v cc >/dev/null || needed+=(gcc)
    "$PYTHON" -c 'import os, sysconfig; raise SystemExit(not os.path.exists(
        os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null ||
        needed+=(python3-dev)
    if [[ ! -x $VENV/bin/python ]] && ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
        needed+=(python3-venv)
    fi
    # The server programs: the local cluster tests start their own MariaDB pair and
    # Redis even when the suite's own servers are elsewhere.
    if [[ ! -x /usr/sbin/mariadbd ]] || ! command -v mariadb-install-db >/dev/null ||
        ! command -v mariadb >/dev/null; then
        needed+=(mariadb-server)
    fi
    command -v redis-server >/dev/null || needed+=(redis-server)
else
    echo "No dpkg here: make sure a C compiler, pkg-config, the MariaDB client headers," \
        "Chromium, a MariaDB server and a Redis server are installed."
fi

if ((${#needed[@]} == 0)); then
    echo "All present."
elif is_root && command -v apt-get >/dev/null; then
    echo "Installing: ${needed[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The tests start the servers they need: no package may start its daemon on install
    # (nginx's would take port 80). policy-rc.d answering 101 is Debian's way to say so.
    policy=/usr/sbin/policy-rc.d made_policy=false
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=true
        trap 'rm -f "$policy"' EXIT
    fi
    if ! apt-get install -y -q --no-install-recommends "${needed[@]}"; then
        echo "Install failed; refreshing the package lists and trying again."
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${needed[@]}"
    fi
    if $made_policy; then
        rm -f "$policy"
        trap - EXIT
    fi
else
    die "missing OS packages: ${needed[*]}
Install them, then run this again:  sudo apt-get install -y ${needed[*]}"
fi

# --- 2. Services ------------------------------------------------------------------
step "Checking MariaDB and Redis"
if ! $MANAGE_DB; then
    echo "Database $DB_HOST is not local: not starting anything."
elif listening "$DB_HOST" "$DB_PORT"; then
    echo "MariaDB is up on $DB_HOST:$DB_PORT."
else
    is_root || die "MariaDB is not running on $DB_HOST:$DB_PORT. Start it" \
        "(e.g. sudo service mariadb start) and run this again."
    echo "Starting MariaDB."
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld
    if [[ ! -d /var/lib/mysql/mysql ]]; then
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- \
        --user=mysql --bind-address=127.0.0.1 --port="$DB_PORT"
    wait_for MariaDB "$DB_HOST" "$DB_PORT" ||
        die "MariaDB did not start; run /usr/sbin/mariadbd --user=mysql to see why."
fi

if ! $MANAGE_REDIS; then
    echo "Redis $REDIS_HOST is not local: not starting anything."
elif listening "$REDIS_HOST" "$REDIS_PORT"; then
    echo "Redis is up on $REDIS_HOST:$REDIS_PORT."
else
    echo "Starting Redis."
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
        --save "" --appendonly no >/dev/null
    wait_for Redis "$REDIS_HOST" "$REDIS_PORT" ||
        die "Redis did not start; run redis-server --port $REDIS_PORT to see why."
fi

# --- 3. The project -----------------------------------------------------------------
step "Installing cloudblog with its test extras into $VENV"
if [[ ! -x $VENV/bin/python ]]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "cloudblog needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)." \
            "Set PYTHON=python3.11 (or newer)."
    "$PYTHON" -m venv "$VENV"
fi
stamp=$VENV/.installed-test
if [[ $stamp -nt pyproject.toml ]]; then
    echo "Up to date (delete $stamp to force a reinstall)."
else
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[test]'
    touch "$stamp"
fi

# --- 4. Database access ---------------------------------------------------------------
probe_database() {
    # Exit 0 when the test user can create (and drop) a database, as the test run will.
    "$VENV/bin/python" - <<'PY'
import os
import sys
from pathlib import Path

import MySQLdb

from config.env import parse_database_url

db = parse_database_url("DATABASE_URL", os.environ["DATABASE_URL"], Path.cwd())
try:
    conn = MySQLdb.connect(
        host=db["HOST"], port=int(db["PORT"]), user=db["USER"], password=db["PASSWORD"]
    )
    cursor = conn.cursor()
    probe = f"cloudblog_probe_{os.getpid()}"
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{probe}`")
    cursor.execute(f"DROP DATABASE `{probe}`")
except MySQLdb.Error as exc:
    print(f"{db['USER']}@{db['HOST']}:{db['PORT']}: {exc}", file=sys.stderr)
    sys.exit(1)
PY
}

if $IS_MYSQL; then
    step "Checking that the test user can create databases"
    if probe_database; then
        echo "Yes."
    elif [[ $DATABASE_URL == "$DEFAULT_DATABASE_URL" ]] && is_root &&
        command -v mariadb >/dev/null; then
        # A fresh Debian MariaDB lets root in only over the socket; tests connect over TCP.
        echo "Letting root in over TCP from 127.0.0.1 with an empty password (test server)."
        mariadb --protocol=socket -uroot <<'SQL'
ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
        probe_database || die "root still cannot create databases over TCP."
        echo "Yes."
    else
        die "the user in TEST_DATABASE_URL cannot create databases; grant it, e.g." \
            "GRANT ALL ON *.* TO 'user'@'127.0.0.1';"
    fi
fi

# --- 5. Lint and tests -----------------------------------------------------------------
step "ruff check"
"$VENV/bin/ruff" check .
step "ruff format --check"
"$VENV/bin/ruff" format --check .

step "pytest $*"
status=0
"$VENV/bin/pytest" "$@" || status=$?
step "pytest exited with status $status"
exit "$status"
