#!/bin/bash
# Predeploy: collect static files into the new version's staticfiles/ before it serves.
# Without them DJANGO_DEBUG=false answers 500 on every page (the manifest is missing).
# Environment properties are not in a hook's environment: read them from the platform.
set -euo pipefail

GET_CONFIG=${EB_GET_CONFIG:-/opt/elasticbeanstalk/bin/get-config}
if [[ -z ${EB_PYTHON:-} ]]; then
    # The platform's virtualenv (one folder under /var/app/venv).
    for candidate in /var/app/venv/*/bin/python; do EB_PYTHON=$candidate; break; done
fi
PYTHON=${EB_PYTHON:?no Python under /var/app/venv}

exports=$("$GET_CONFIG" environment | "$PYTHON" -c '
import json, shlex, sys
for name, value in json.load(sys.stdin).items():
    print(f"export {name}={shlex.quote(value)}")
')
eval "$exports"

"$PYTHON" manage.py collectstatic --noinput --verbosity 1
