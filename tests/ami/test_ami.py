"""The golden AMI's template and scripts, checked offline: what `make ami-check` runs.

Packer 1.6.6 cannot fully validate a modern amazon-ebs template (see ami/plugins.pkr.hcl),
so the policy (encryption, IMDSv2, tags, cleanup last, no secrets) is read from the HCL.
"""

from __future__ import annotations

import re
import runpy
import subprocess
from pathlib import Path

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
AMI = REPO / "ami"
TEMPLATE = AMI / "golden.pkr.hcl"
SCRIPTS = sorted((AMI / "provision").glob("*.sh"))
NGINX_CONF = AMI / "files" / "nginx" / "cloudblog.conf"
UNITS = AMI / "files" / "systemd"
SECRET_PATTERNS = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # an access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)(password|passwd|secret_key|secret|token)\s*=\s*\"[^\"$]{4,}\""),
    re.compile(r"(?i)mysql://[^:/\s]+:[^@\s$]+@"),
]


def _unquote(value):
    """python-hcl2 keeps the quotes around strings and block labels: drop them."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


@pytest.fixture(scope="module")
def template() -> dict:
    with TEMPLATE.open() as handle:
        return _unquote(hcl2.load(handle))


@pytest.fixture(scope="module")
def source(template) -> dict:
    return template["source"][0]["amazon-ebs"]["golden"]


@pytest.fixture(scope="module")
def provisioners(template) -> list[tuple[str, dict]]:
    build = template["build"][0]
    return [(kind, body) for item in build["provisioner"] for kind, body in item.items()]


def _variables(template) -> dict[str, dict]:
    return {name: body for item in template["variable"] for name, body in item.items()}


def _run(*command: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command], cwd=REPO, capture_output=True, text=True, timeout=120
    )


# --- The tools ---------------------------------------------------------------------------


def test_template_is_packer_formatted():
    result = _run("packer", "fmt", "-check", "-diff", AMI)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_passes_packer_syntax_validation():
    result = _run("packer", "validate", "-syntax-only", TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unformatted_template_is_caught(tmp_path):
    # The check above would be worthless if fmt -check passed anything.
    bad = tmp_path / "bad.pkr.hcl"
    bad.write_text('variable "x" {\ntype=string\n}\n')
    assert _run("packer", "fmt", "-check", bad).returncode != 0


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_provisioning_script_is_shellcheck_clean(script):
    result = _run("shellcheck", "--severity=style", script)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_provisioning_script_stops_on_the_first_error(script):
    assert "set -euo pipefail" in script.read_text()


# --- The policy --------------------------------------------------------------------------


def test_root_volume_and_image_are_encrypted_gp3(source):
    (device,) = source["launch_block_device_mappings"]
    assert device["encrypted"] is True
    assert device["volume_type"] == "gp3"
    # Packer insists on both for gp3.
    assert (device["throughput"], device["iops"]) == (125, 3000)
    assert source["encrypt_boot"] is True


def test_imdsv2_is_required_at_build_time_and_in_the_image(source):
    (options,) = source["metadata_options"]
    assert options["http_tokens"] == "required"
    assert options["http_put_response_hop_limit"] == 1
    assert source["imds_support"] == "v2.0"


def test_base_image_is_found_by_filter_for_both_systems(template, source):
    (ami_filter,) = source["source_ami_filter"]
    assert ami_filter["most_recent"] is True
    assert "source_ami" not in source
    images = template["locals"][0]["base_images"]
    assert set(images) == {"ubuntu-24.04", "al2023"}
    assert "noble-24.04" in images["ubuntu-24.04"]["name"]
    assert images["al2023"]["name"].startswith("al2023-ami-")
    condition = _variables(template)["base_os"]["validation"][0]["condition"]
    assert "ubuntu-24.04" in condition and "al2023" in condition


def test_ami_name_is_unique_per_version_and_build_time(template, source):
    assert "${var.app_version}" in source["ami_name"]
    assert "${local.stamp}" in source["ami_name"]
    assert "timestamp()" in template["locals"][0]["stamp"]


def test_image_is_tagged_for_traceability(source):
    tags = source["tags"]
    for name in ("AppVersion", "GitSha", "BuildTime", "SourceAMI", "Role"):
        assert tags.get(name), f"tag {name} is missing"
    assert tags["SourceAMI"] == "{{ .SourceAMI }}"
    assert tags["AppVersion"] == "${var.app_version}"


def test_region_app_version_and_subnet_are_variables(template, source):
    variables = _variables(template)
    assert {"region", "app_version", "subnet_id", "git_sha"} <= set(variables)
    assert source["region"] == "${var.region}"
    assert source["subnet_id"] == "${var.subnet_id}"


def test_cleanup_is_the_last_provisioner(provisioners):
    kind, last = provisioners[-1]
    assert kind == "shell"
    assert last["scripts"] == ["ami/provision/99-cleanup.sh"]
    earlier = [s for _, body in provisioners[:-1] for s in body.get("scripts", [])]
    assert "ami/provision/99-cleanup.sh" not in earlier


def test_every_script_is_provisioned_once_and_exists(provisioners):
    listed = [s for _, body in provisioners for s in body.get("scripts", [])]
    assert sorted(listed) == sorted(f"ami/provision/{p.name}" for p in SCRIPTS)
    kinds = {kind for kind, _ in provisioners}
    assert {"file", "shell"} <= kinds
    for kind, body in provisioners:
        if kind == "file":
            local = body["source"]
            assert local.startswith("${var.") or (REPO / local).exists(), local


def test_manifest_post_processor_records_the_build(template):
    post = template["build"][0]["post-processor"]
    manifests = [body for item in post for kind, body in item.items() if kind == "manifest"]
    assert manifests and manifests[0]["output"] == "ami/manifest.json"
    assert manifests[0]["custom_data"]["git_sha"] == "${var.git_sha}"


def test_sensitive_variables_are_marked_and_only_reach_the_environment(template, provisioners):
    variables = _variables(template)
    sensitive = {name for name, body in variables.items() if body.get("sensitive")}
    assert "pip_index_url" in sensitive
    secretish = {n for n in variables if re.search(r"password|secret|token|key|index_url", n)}
    # kms_key_id is a key's name, not key material.
    assert secretish - {"kms_key_id"} <= sensitive
    for name in sensitive:
        assert variables[name].get("default", "") == ""
        reference = f"var.{name}"
        text = TEMPLATE.read_text()
        # Only ever handed to a provisioner's environment, never into a file or a tag.
        for line in text.splitlines():
            if reference in line and "validation" not in line:
                assert re.match(r'\s*"[A-Z_]+=\$\{' + re.escape(reference) + r'\}",?$', line), line


def test_no_secret_is_written_into_the_template_or_the_image_files():
    files = [TEMPLATE, *SCRIPTS, *(p for p in (AMI / "files").rglob("*") if p.is_file())]
    for path in files:
        text = path.read_text()
        for pattern in SECRET_PATTERNS:
            assert not pattern.search(text), f"{path.name}: {pattern.pattern}"


def test_secret_patterns_catch_a_planted_secret():
    planted = 'db = "mysql://app:hunter2hunter2@writer:3306/blog"\npassword = "hunter2hunter2"'
    assert sum(bool(p.search(planted)) for p in SECRET_PATTERNS) == 2


def test_build_time_secret_key_never_reaches_a_file():
    script = (AMI / "provision" / "30-app.sh").read_text()
    for line in script.splitlines():
        if "SECRET_KEY" in line or "PIP_INDEX_URL" in line:
            assert not re.search(r">\s*\S", line.split("#")[0]), line


# --- The files the scripts install -------------------------------------------------------


def _gunicorn_defaults(monkeypatch) -> dict:
    for name in ("GUNICORN_TIMEOUT", "GUNICORN_KEEPALIVE", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(REPO / "config" / "gunicorn.conf.py"))


def _seconds(conf: str, directive: str) -> int:
    match = re.search(rf"^\s*{directive}\s+(\d+)s;", conf, re.MULTILINE)
    assert match, directive
    return int(match.group(1))


def test_nginx_timeouts_line_up_with_gunicorn(monkeypatch):
    gunicorn = _gunicorn_defaults(monkeypatch)
    conf = NGINX_CONF.read_text()
    assert f"server {gunicorn['bind']};" in conf
    assert _seconds(conf, "proxy_read_timeout") == gunicorn["timeout"]
    upstream = conf.split("upstream", 1)[1].split("}", 1)[0]
    assert _seconds(upstream, "keepalive_timeout") < gunicorn["keepalive"]
    server = conf.split("server {", 1)[1]
    # Longer than the ALB's 60 s idle timeout.
    assert _seconds(server, "keepalive_timeout") > 60


def test_nginx_serves_static_and_media_with_nosniff():
    conf = NGINX_CONF.read_text()
    for location, root in (("/static/", "/opt/cloudblog/static/"), ("/media/", "/mnt/")):
        block = conf.split(f"location {location} {{", 1)[1].split("\n    }", 1)[0]
        assert f"alias {root}" in block
        assert 'add_header X-Content-Type-Options "nosniff" always;' in block


def test_nginx_never_serves_the_private_originals():
    conf = NGINX_CONF.read_text()
    # ^~ wins over every regex location, so no later rule can expose them again.
    block = conf.split("location ^~ /media/private/ {", 1)[1].split("}", 1)[0]
    assert block.strip() == "return 404;"


def test_services_wait_for_the_bootstrap_and_run_unprivileged():
    bootstrap = (UNITS / "cloudblog-bootstrap.service").read_text()
    assert "Type=oneshot" in bootstrap
    for unit in ("cloudblog-web.service", "cloudblog-worker.service"):
        assert unit in re.search(r"^Before=(.*)$", bootstrap, re.MULTILINE).group(1)
        text = (UNITS / unit).read_text()
        assert "Requires=cloudblog-bootstrap.service" in text
        assert re.search(r"^After=.*cloudblog-bootstrap\.service", text, re.MULTILINE)
        assert "User=cloudblog" in text
        assert "EnvironmentFile=/etc/cloudblog/cloudblog.env" in text
    assert "run_worker" in (UNITS / "cloudblog-worker.service").read_text()


def test_units_parse_cleanly():
    result = _run("systemd-analyze", "verify", "--man=no", *sorted(UNITS.glob("*.service")))
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        # The venv exists only inside the image; tests/ami/test_ami_chroot.py checks there.
        if "is not executable: No such file or directory" not in line
    ]
    assert problems == []
