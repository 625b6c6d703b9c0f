"""User-data rendering: `python -m ops userdata render`, checked with cloud-init's own schema."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from ops import userdata

REPO = Path(__file__).resolve().parents[2]
SCHEMA = Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json")
CASES = [
    ("prod", "web", ["--efs-id", "fs-0123456789abcdef0"]),
    ("prod", "worker", ["--efs-id", "fs-0123456789abcdef0", "--no-efs-tls"]),
    ("staging", "web", ["--ssm-path", "/blog/staging/", "--secret-id", "blog/staging-db"]),
]


def _render(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ops", "userdata", "render", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _cloud_init_schema(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["cloud-init", "schema", "--config-file", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _strict_validate(document: str) -> None:
    """cloud-init's JSON schema, strictly: unknown keys in known modules are errors too."""
    config = yaml.safe_load(document)
    jsonschema.validate(config, json.loads(SCHEMA.read_text()))
    # cloud-init's own validator, run by the system python that has it.
    check = (
        "import sys, yaml; from cloudinit.config.schema import get_schema, "
        "validate_cloudconfig_schema as v; "
        "v(yaml.safe_load(sys.stdin.read()), get_schema(), strict=True)"
    )
    result = subprocess.run(
        ["/usr/bin/python3", "-c", check], input=document, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("env", "role", "extra"), CASES)
def test_rendered_cloud_config_passes_cloud_init_schema(tmp_path, env, role, extra):
    result = _render("--env", env, "--role", role, *extra)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "user-data"
    path.write_text(result.stdout)

    checked = _cloud_init_schema(path)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Valid cloud-config" in checked.stdout
    _strict_validate(result.stdout)
    assert len(result.stdout.encode()) < userdata.USER_DATA_LIMIT


def test_rendered_user_data_says_who_the_instance_is_and_nothing_secret():
    result = _render("--env", "prod", "--role", "worker", "--efs-id", "fs-0123456789abcdef0")
    config = yaml.safe_load(result.stdout)
    (instance_env,) = config["write_files"]
    assert instance_env["path"] == "/etc/cloudblog/instance.env"
    lines = instance_env["content"].splitlines()
    assert "CLOUDBLOG_ROLE=worker" in lines
    assert "CLOUDBLOG_SSM_PATH=/cloudblog/prod/" in lines
    assert "CLOUDBLOG_SECRET_ID=cloudblog/prod" in lines
    assert "CLOUDBLOG_EFS_ID=fs-0123456789abcdef0" in lines
    # The image has everything: nothing is installed at boot.
    assert config["package_update"] is False and config["package_upgrade"] is False
    assert "packages" not in config and "runcmd" not in config
    assert not any(word in result.stdout.lower() for word in ("password", "secret_key"))


def test_cloud_init_schema_catches_a_broken_cloud_config(tmp_path):
    # A control: the schema check above would be worthless if it passed anything.
    good = userdata.render(env="prod", role="web")
    path = tmp_path / "user-data"
    path.write_text(good.replace("package_update: false", "package_update: maybe"))
    assert _cloud_init_schema(path).returncode != 0


@pytest.mark.parametrize("role", userdata.ROLES)
def test_multipart_user_data_parts_are_each_valid(tmp_path, role):
    result = _render("--env", "prod", "--role", role, "--format", "mime")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.encode()) < userdata.USER_DATA_LIMIT

    message = email.message_from_string(result.stdout)
    assert message.is_multipart()
    parts = {part.get_content_type(): part for part in message.get_payload()}
    assert set(parts) == {"text/cloud-config", "text/x-shellscript"}

    cloud_config = parts["text/cloud-config"].get_payload(decode=True).decode()
    assert cloud_config.startswith("#cloud-config\n")
    _strict_validate(cloud_config)
    script = tmp_path / "report.sh"
    script.write_text(parts["text/x-shellscript"].get_payload(decode=True).decode())
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    shellcheck = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert shellcheck.returncode == 0, shellcheck.stdout


def test_userdata_shell_scripts_are_shellcheck_clean():
    scripts = sorted((REPO / "userdata").glob("*.sh"))
    assert scripts
    result = subprocess.run(
        ["shellcheck", "--severity=style", *map(str, scripts)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "Prod;rm", "--role", "web"], "environment 'Prod;rm' is not valid"),
        (["--env", "prod", "--role", "web", "--efs-id", "fs-x\n"], "EFS id"),
        (["--env", "prod", "--role", "web", "--ssm-path", "cloudblog/prod"], "SSM path"),
    ],
)
def test_bad_values_are_refused_by_name(args, message):
    result = _render(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_unknown_role_is_refused():
    result = _render("--env", "prod", "--role", "db")
    assert result.returncode == 2
    assert "invalid choice: 'db'" in result.stderr


def test_user_data_over_16_kb_is_refused(tmp_path, monkeypatch):
    big = tmp_path / "cloud-config.yaml.in"
    original = (userdata.TEMPLATES / "cloud-config.yaml.in").read_text()
    big.write_text(original + "# padding\n" * 2000)
    monkeypatch.setattr(userdata, "TEMPLATES", tmp_path)
    with pytest.raises(userdata.UserDataError, match=r"over EC2's 16384"):
        userdata.render(env="prod", role="web")


def test_render_writes_to_a_file(tmp_path):
    target = tmp_path / "web.yaml"
    result = _render("--env", "prod", "--role", "web", "--output", str(target))
    assert result.returncode == 0
    assert target.read_text().startswith("#cloud-config\n")
