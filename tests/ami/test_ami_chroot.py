"""The provisioning scripts, really run: in a Debian bookworm root file system made with
debootstrap, in a chroot, twice (they must be idempotent), then the cleanup script.
About 5 minutes and a few hundred MB of downloads: `make ami-slow`
(`pytest -m slow tests/ami/test_ami_chroot.py`). Needs root, debootstrap and network access
to the Debian mirror and PyPI.
"""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from tests.chroot import PROVISION, Chroot, build_env, debootstrap

pytestmark = pytest.mark.slow

CANARY = "canary-build-secret-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    root = tmp_path_factory.mktemp("ami") / "rootfs"
    debootstrap(root)
    chroot = Chroot(root)
    with chroot:
        chroot.stage_build()
        env = build_env(BUILD_SECRET_KEY=CANARY)
        before_cleanup = [s for s in PROVISION if s.name != "99-cleanup.sh"]
        chroot.provision(before_cleanup, env)
        # Again: a rerun on a half-built or built image must converge, not fail.
        chroot.provision(before_cleanup, env)
        chroot.provision([s for s in PROVISION if s.name == "99-cleanup.sh"], env)
        yield chroot
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def test_application_is_importable_with_its_service_clients(image):
    result = image.run(
        "/opt/cloudblog/venv/bin/python",
        "-c",
        "import config.settings, blog, userdata.bootstrap, MySQLdb, django_redis, gunicorn",
        env={"DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.returncode == 0, result.stderr


def test_manage_check_deploy_passes_in_the_image(image):
    result = image.run(
        "/opt/cloudblog/venv/bin/django-admin",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "blog.example.com",
            "DATABASE_URL": "mysql://app:pw@127.0.0.1:3306/cloudblog",
            "STATIC_ROOT": "/opt/cloudblog/static",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_static_files_are_collected_with_hashed_names(image):
    static = image.root / "opt/cloudblog/static"
    assert (static / "staticfiles.json").exists()
    assert list((static / "css").glob("site.*.css"))
    assert (static / "admin").is_dir()


def test_service_user_is_unprivileged_and_code_is_root_owned(image):
    passwd = (image.root / "etc/passwd").read_text().splitlines()
    (entry,) = [line for line in passwd if line.startswith("cloudblog:")]
    assert entry.endswith(":/usr/sbin/nologin")
    assert int(entry.split(":")[2]) < 1000  # a system account
    venv = image.root / "opt/cloudblog/venv"
    assert venv.stat().st_uid == 0
    assert (image.root / "opt/cloudblog/RELEASE").read_text() == "0.1.0+0123456789ab\n"


def test_only_the_bootstrap_starts_at_boot(image):
    wants = image.root / "etc/systemd/system/multi-user.target.wants"
    # Links are absolute inside the image: read them, do not follow them from the host.
    link = wants / "cloudblog-bootstrap.service"
    assert os.readlink(link) == "/etc/systemd/system/cloudblog-bootstrap.service"
    for unit in ("cloudblog-web.service", "cloudblog-worker.service", "nginx.service"):
        assert not (wants / unit).is_symlink(), unit
        assert (image.root / "etc/systemd/system" / unit).exists() or unit == "nginx.service"


def test_nginx_site_is_valid_and_replaces_the_default(image):
    result = image.run("nginx", "-t")
    assert result.returncode == 0, result.stderr
    assert not (image.root / "etc/nginx/sites-enabled/default").exists()
    assert (image.root / "etc/nginx/conf.d/cloudblog.conf").exists()


def test_cleanup_left_nothing_instance_specific(image):
    root = image.root
    assert not list((root / "etc/ssh").glob("ssh_host_*")) if (root / "etc/ssh").exists() else True
    assert not (root / "tmp/cloudblog-build").exists()
    assert list((root / "var/lib/apt/lists").iterdir()) == []
    assert not list((root / "var/cache/apt/archives").glob("*.deb"))
    # No machine id baked in: each instance makes its own (minbase has none at all).
    machine_id = root / "etc/machine-id"
    assert not machine_id.exists() or machine_id.read_text() == ""
    assert not (root / "root/.cache/pip").exists()
    logs = [p for p in (root / "var/log").rglob("*") if p.is_file()]
    assert logs and all(p.stat().st_size == 0 for p in logs)


def test_no_secret_used_during_the_build_is_left_in_the_image(image):
    # The throwaway key collectstatic needed was handed in; it must be nowhere on disk.
    result = subprocess.run(
        ["grep", "-r", "-l", "-F", "--devices=skip", "-s", "--exclude-dir=proc",
         "--exclude-dir=dev", "--exclude-dir=sys", CANARY, str(image.root)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.stdout == ""
    keys = subprocess.run(
        # The venv is left out: botocore ships API examples that quote key headers.
        ["grep", "-r", "-l", "-E", "--devices=skip", "-s", "--exclude-dir=venv",
         "BEGIN [A-Z ]*PRIVATE KEY",
         str(image.root / "etc"), str(image.root / "opt"), str(image.root / "root")],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert keys.stdout == ""
