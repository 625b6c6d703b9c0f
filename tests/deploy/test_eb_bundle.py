"""`python -m ops eb bundle`: deterministic, complete, and its Procfile serves /healthz."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
import yaml

from ops import eb
from ops.__main__ import main
from tests.net import unused_port

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Each tier and mode built once, unzipped."""
    made = {}
    root = tmp_path_factory.mktemp("eb")
    for tier, mode in (("web", "ha"), ("web", "single"), ("worker", "ha")):
        data, _ = eb.build(tier=tier, mode=mode)
        path = root / f"{tier}-{mode}.zip"
        path.write_bytes(data)
        folder = root / f"{tier}-{mode}"
        with zipfile.ZipFile(path) as archive:
            archive.extractall(folder)
            modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        made[tier, mode] = {"zip": path, "dir": folder, "modes": modes, "data": data}
    return made


def _config(folder: Path, name: str) -> dict:
    return yaml.safe_load((folder / ".ebextensions" / name).read_text())["option_settings"]


def test_the_same_checkout_gives_the_same_bytes(tmp_path, capsys):
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    assert main(["eb", "bundle", "--tier", "web", "--output", str(first)]) == 0
    time.sleep(1.1)  # a zip's timestamps have two-second steps: cross at least one
    assert main(["eb", "bundle", "--tier", "web", "--output", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in archive.infolist()} == {eb.FIXED_TIME}
    assert "sha256: " in capsys.readouterr().out


def test_tiers_and_modes_differ_where_they_should(bundles):
    assert bundles["web", "ha"]["data"] != bundles["web", "single"]["data"]
    web, worker = bundles["web", "ha"]["dir"], bundles["worker", "ha"]["dir"]
    assert not (web / "cron.yaml").exists()
    assert (worker / "cron.yaml").read_text() == (eb.ROOT / "cron.yaml").read_text()
    assert sorted(p.name for p in (web / ".ebextensions").iterdir()) == [
        "01-environment.config",
        "02-migrate.config",
        "03-web.config",
        "04-mode-ha.config",
    ]
    assert (worker / ".ebextensions" / "03-worker.config").exists()


def test_the_bundle_leaves_out_tests_local_state_and_secrets(bundles):
    names = set(bundles["web", "ha"]["modes"])
    for prefix in ("tests/", "bench/", "var/", ".venv/", "ami/", "deploy/", ".ci/"):
        assert not any(n.startswith(prefix) for n in names), prefix
    assert not any(re.search(r"secret|\.pem$|\.key$|\.env$|sqlite3$", n) for n in names)
    for needed in ("manage.py", "config/settings.py", "config/gunicorn.conf.py", "blog/models.py"):
        assert needed in names
    folder = bundles["web", "ha"]["dir"]
    assert (folder / "requirements.txt").read_text().strip().endswith(".[services]")
    assert re.fullmatch(r"[0-9a-f]{40}\n", (folder / "RELEASE").read_text())


def test_hooks_are_executable_and_pass_shellcheck(bundles):
    modes = bundles["web", "ha"]["modes"]
    hook = ".platform/hooks/predeploy/01-collectstatic.sh"
    assert modes[hook] & stat.S_IXUSR
    done = subprocess.run(
        ["shellcheck", str(bundles["web", "ha"]["dir"] / hook)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 127:
        pytest.skip("shellcheck is not installed")
    assert done.returncode == 0, done.stdout


def test_option_settings_health_deployments_updates_and_profile(bundles):
    ha, single = bundles["web", "ha"]["dir"], bundles["web", "single"]["dir"]
    common = _config(ha, "01-environment.config")
    assert common["aws:elasticbeanstalk:application"]["Application Healthcheck URL"] == "/healthz"
    assert common["aws:elasticbeanstalk:managedactions"]["ManagedActionsEnabled"] is True
    assert common["aws:autoscaling:launchconfiguration"]["IamInstanceProfile"]
    assert common["aws:autoscaling:launchconfiguration"]["DisableIMDSv1"] is True
    assert common["aws:elasticbeanstalk:application:environment"]["DJANGO_DEBUG"] == "false"
    web = _config(ha, "03-web.config")["aws:elasticbeanstalk:environment:process:default"]
    assert web["HealthCheckPath"] == "/healthz"
    assert web["DeregistrationTimeout"] < 30  # GUNICORN_GRACEFUL_TIMEOUT
    assert web["StickinessEnabled"] is False
    policy = "aws:elasticbeanstalk:command"
    assert _config(ha, "04-mode-ha.config")[policy]["DeploymentPolicy"] == (
        "RollingWithAdditionalBatch"
    )
    assert _config(single, "04-mode-single.config")[policy]["DeploymentPolicy"] == "Immutable"
    migrate = yaml.safe_load((ha / ".ebextensions" / "02-migrate.config").read_text())
    command = migrate["container_commands"]["01_migrate_once"]
    assert command["leader_only"] is True
    assert 'migrate_once --release "$(cat RELEASE)"' in command["command"]


def test_nginx_serves_static_and_media_and_never_the_originals(bundles):
    conf = (
        bundles["web", "ha"]["dir"] / ".platform/nginx/conf.d/elasticbeanstalk/cloudblog.conf"
    ).read_text()
    assert "location /static/" in conf and "location /media/" in conf
    assert re.search(r"location \^~ /media/private/ \{\s*return 404;", conf)
    # /static/, /media/ and the types a browser shows inside it (tests/ami/test_nginx_media.py)
    assert conf.count('X-Content-Type-Options "nosniff"') == 3


def test_the_worker_timeouts_nest_as_the_readme_says(bundles):
    folder = bundles["worker", "ha"]["dir"]
    settings = _config(folder, "03-worker.config")
    sqsd = settings["aws:elasticbeanstalk:sqsd"]
    env = settings["aws:elasticbeanstalk:application:environment"]
    conf = (folder / ".platform/nginx/conf.d/elasticbeanstalk/cloudblog.conf").read_text()
    nginx = int(re.search(r"proxy_read_timeout (\d+)s;", conf).group(1))
    assert sqsd["HttpPath"] == "/worker/"
    assert sqsd["VisibilityTimeout"] > sqsd["InactivityTimeout"] == 299
    assert 299 > nginx > int(env["GUNICORN_TIMEOUT"]) > int(env["WORKER_TASK_TIME_LIMIT"])
    assert "localhost" in env["DJANGO_ALLOWED_HOSTS"]


def test_saved_configurations_exist_for_both_modes():
    saved = eb.SOURCES / "saved_configs"
    types = {
        name: yaml.safe_load((saved / f"{name}.cfg.yml").read_text())["OptionSettings"][
            "aws:elasticbeanstalk:environment"
        ]["EnvironmentType"]
        for name in ("ha", "single")
    }
    assert types == {"ha": "LoadBalanced", "single": "SingleInstance"}


def _platform_env(port: int, tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GUNICORN_", "DATABASE_", "REDIS_", "DJANGO_", "MEDIA_"))
    }
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        PORT=str(port),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="eb-bundle-test-" + "k" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'eb.sqlite3'}",
        STATIC_ROOT="staticfiles",
        GUNICORN_WORKERS="1",
        CLOUDBLOG_VAR_DIR=str(tmp_path),
    )
    return env


def _serve(folder: Path, port: int, tmp_path: Path) -> subprocess.Popen:
    """The Procfile's web line, run the way the platform does: a shell, PORT set."""
    command = (folder / "Procfile").read_text().split("web:", 1)[1].strip()
    env = _platform_env(port, tmp_path)
    log = (tmp_path / "procfile.log").open("wb")
    return subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the shell and gunicorn stop together
    )


def test_the_procfile_web_command_answers_healthz(bundles, tmp_path):
    folder = bundles["web", "ha"]["dir"]
    port = unused_port()
    # What the predeploy hook does before the platform starts the Procfile.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=folder, env=_platform_env(port, tmp_path), capture_output=True, check=True,
    )  # fmt: skip
    proc = _serve(folder, port, tmp_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status, body = r.status, r.read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "procfile.log").read_text())
                time.sleep(0.1)
        # gunicorn writes the access line just after the answer: wait for it before the
        # SIGTERM, which a busy machine can otherwise deliver first.
        logged = time.monotonic() + 10
        log = tmp_path / "procfile.log"
        while '"path": "/healthz"' not in log.read_text() and time.monotonic() < logged:
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    assert status == 200
    assert body.strip() == b"ok"
    # gunicorn's JSON access log (config/gunicorn.conf.py from the unzipped tree) saw it.
    assert '"path": "/healthz"' in log.read_text()


def test_the_procfile_refuses_to_start_without_collected_static_files(bundles, tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(
        bundles["web", "single"]["dir"], folder, ignore=shutil.ignore_patterns("staticfiles")
    )
    proc = _serve(folder, unused_port(), tmp_path)
    try:
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert code != 0
    assert "run `manage.py collectstatic --noinput`" in (tmp_path / "procfile.log").read_text()


def test_the_predeploy_hook_collects_static_with_the_environment_properties(bundles, tmp_path):
    folder = bundles["web", "single"]["dir"]
    fake = tmp_path / "get-config"
    fake.write_text(
        "#!/bin/sh\n"
        'echo \'{"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "hook-test-'
        + "s" * 40
        + '", "STATIC_ROOT": "staticfiles", "DATABASE_URL": "sqlite:///'
        + str(tmp_path / "h.sqlite3")
        + "\"}'\n"
    )
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", ".platform/hooks/predeploy/01-collectstatic.sh"],
        cwd=folder,
        env={**os.environ, "EB_GET_CONFIG": str(fake), "EB_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    manifest = folder / "staticfiles" / "staticfiles.json"
    assert manifest.exists()
    assert "admin/css/base.css" in manifest.read_text()


def test_eb_bundle_through_a_real_process_refuses_a_bad_tier(tmp_path):
    def ops(*args):
        return subprocess.run(
            [sys.executable, "-m", "ops", *args],
            cwd=eb.ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert ops("eb", "bundle", "--tier", "db").returncode == 2
    helped = ops("eb", "bundle", "--help")
    assert helped.returncode == 0 and "--tier" in helped.stdout and "exit codes" in helped.stdout
    out = tmp_path / "w.zip"
    done = ops("eb", "bundle", "--tier", "worker", "--mode", "single", "--output", str(out))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as archive:
        assert "cron.yaml" in archive.namelist()
        assert ".ebextensions/04-mode-single.config" in archive.namelist()
