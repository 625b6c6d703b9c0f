# cloudblog: two commands for a fresh clone.
#   make run    a demo site on http://127.0.0.1:8000 (SQLite, nothing to install but Python)
#   make test   lint and tests against real MariaDB and Redis, as CI runs them
# See `make help` for the rest.

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=

VENV_PY := $(VENV)/bin/python
# settings.py keeps the SQLite file and uploads under CLOUDBLOG_VAR_DIR (default var/).
VAR_DIR := $(or $(CLOUDBLOG_VAR_DIR),var)

.DEFAULT_GOAL := help
.PHONY: help run test test-all test-cluster lint format check-python

help:
	@echo "make run          install into $(VENV), migrate, add demo content and an admin,"
	@echo "                  then serve on http://$(HOST):$(PORT) (data is kept between runs)"
	@echo "make test         lint and run the tests against MariaDB and Redis (scripts/test.sh);"
	@echo "                  pass pytest arguments with ARGS=\"-k comments\"; leaves out the slower tiers"
	@echo "make test-all     the same with the slower tiers: the local cluster's fault tests and"
	@echo "                  the provisioning scripts in a debootstrap chroot (about twice as long)"
	@echo "make test-cluster the local cluster's fault tests alone"
	@echo "make cluster-up   the production topology on this machine (python -m ops cluster --help);"
	@echo "make cluster-down ARGS=--wipe also deletes its data"
	@echo "make ami          build the golden AMI with Packer (needs AWS credentials; see README)"
	@echo "make ami-check    everything about the AMI that can be checked offline"
	@echo "make lint         ruff check and ruff format --check"
	@echo "make format       ruff format and ruff check --fix"
	@echo "Variables: PYTHON=$(PYTHON) VENV=$(VENV) HOST=$(HOST) PORT=$(PORT)"

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "cloudblog needs Python 3.11 or newer; '$(PYTHON)' is" \
	    "$$($(PYTHON) --version 2>/dev/null || echo 'not installed')." >&2; \
	  echo "Install Python 3.11+ and run, for example: make run PYTHON=python3.11" >&2; \
	  exit 1; }

$(VENV_PY):
	@$(MAKE) --no-print-directory check-python
	@echo "==> Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create $(VENV). On Debian/Ubuntu: apt-get install python3-venv" >&2; \
	  rm -rf $(VENV); exit 1; }

# The stamp is newer than pyproject.toml once the core install has been done.
$(VENV)/.installed-run: pyproject.toml | $(VENV_PY)
	@echo "==> Installing cloudblog (core dependencies) into $(VENV)"
	$(VENV_PY) -m pip install --quiet --upgrade pip
	$(VENV_PY) -m pip install --quiet -e .
	@touch $@

run: $(VENV)/.installed-run
	@mkdir -p $(VAR_DIR)/media
	@echo "==> Applying database migrations"
	$(VENV_PY) manage.py migrate --noinput
	@echo "==> Adding demo content (only into an empty site)"
	$(VENV_PY) manage.py seed_demo
	@echo "==> Making sure there is an admin account"
	$(VENV_PY) manage.py ensure_admin
	@echo "==> Serving on http://$(HOST):$(PORT)/ (admin: http://$(HOST):$(PORT)/admin/); Ctrl-C stops"
	$(VENV_PY) manage.py runserver $(HOST):$(PORT)

test:
	bash scripts/test.sh $(ARGS)

# The slower tiers too: the local cluster's fault tests and the chroot (README "Tests").
test-all:
	RUN_SLOW_TESTS=1 bash scripts/test.sh $(ARGS)

# The local cluster's fault tests alone.
test-cluster:
	bash scripts/test.sh -m cluster $(ARGS)

# ruff alone, for a quick lint without the test extras (make test installs it too).
$(VENV)/bin/ruff: | $(VENV_PY)
	$(VENV_PY) -m pip install --quiet 'ruff>=0.6,<1'

lint: $(VENV)/bin/ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/bin/ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The local cluster (python -m ops cluster --help): haproxy on 127.0.0.1:8080 over three
# gunicorn instances, a MariaDB primary and replica, Redis; state and logs in var/cluster/.
# Pass options with ARGS, e.g. make cluster-up ARGS="--instances 4", make cluster-down ARGS=--wipe
.PHONY: cluster-up cluster-down
cluster-up: $(VENV)/.installed-run
	@$(VENV_PY) -c 'import MySQLdb, django_redis' 2>/dev/null || \
	  $(VENV_PY) -m pip install --quiet -e '.[services]'
	$(VENV_PY) -m ops cluster up $(ARGS)

cluster-down: | $(VENV_PY)
	$(VENV_PY) -m ops cluster down $(ARGS)

# The golden AMI (README "Golden AMI and user-data"). `make ami` needs Packer 1.7+, AWS
# credentials and SUBNET_ID; APP_VERSION and GIT_SHA come from the checkout.
APP_VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
GIT_SHA ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
AWS_REGION ?= eu-west-1
.PHONY: ami ami-check ami-slow
ami: | $(VENV_PY)
	@test -n "$(SUBNET_ID)" || { echo "make ami needs SUBNET_ID=subnet-..." >&2; exit 1; }
	rm -rf dist && $(VENV_PY) -m pip wheel --quiet --no-deps --wheel-dir dist .
	packer init ami/
	packer build -var region=$(AWS_REGION) -var subnet_id=$(SUBNET_ID) \
	  -var app_version=$(APP_VERSION) -var git_sha=$(GIT_SHA) ami/

ami-check: | $(VENV_PY)
	packer fmt -check -diff ami/
	packer validate -syntax-only ami/golden.pkr.hcl
	shellcheck --severity=style ami/provision/*.sh userdata/*.sh
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/ami/test_ami.py tests/userdata/test_userdata.py

# The provisioning scripts really run in a debootstrapped Debian chroot (as root, ~5 min).
ami-slow: | $(VENV_PY)
	$(VENV)/bin/pytest -q -p no:cacheprovider -m slow tests/ami/test_ami_chroot.py
