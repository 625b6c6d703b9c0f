"""`python -m ops userdata render`: the user-data for one environment and role.

The golden AMI carries the code; user-data only says which environment and role the
instance has and where its configuration lives (userdata/cloud-config.yaml.in).
`--format mime` wraps it in a multipart message with a shell part that reports the
bootstrap's outcome on the console log.
"""

from __future__ import annotations

import argparse
import re
import sys
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from string import Template

import userdata

TEMPLATES = Path(userdata.__file__).resolve().parent
# EC2 refuses user-data over 16 KB (before base64).
USER_DATA_LIMIT = 16384
ROLES = ("web", "worker")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SSM_PATH = re.compile(r"^/[A-Za-z0-9_.\-/]+/$")
_SECRET_ID = re.compile(r"^[A-Za-z0-9/_+=.@:\-]{1,512}$")
_EFS_ID = re.compile(r"^fs-[0-9a-f]{8,17}$")


class UserDataError(Exception):
    pass


def _check(name: str, value: str, pattern: re.Pattern) -> str:
    if not pattern.match(value):
        raise UserDataError(f"{name} {value!r} is not valid (expected {pattern.pattern})")
    return value


def render_cloud_config(
    *,
    env: str,
    role: str,
    ssm_path: str | None = None,
    secret_id: str | None = None,
    efs_id: str = "",
    efs_tls: bool = True,
) -> str:
    """The `#cloud-config` document; every value is checked, so none can break the YAML."""
    if role not in ROLES:
        raise UserDataError(f"role must be web or worker, got {role!r}")
    _check("environment", env, _ENV_NAME)
    values = {
        "env": env,
        "role": role,
        "ssm_path": _check("SSM path", ssm_path or f"/cloudblog/{env}/", _SSM_PATH),
        "secret_id": _check("secret id", secret_id or f"cloudblog/{env}", _SECRET_ID),
        "efs_id": _check("EFS id", efs_id, _EFS_ID) if efs_id else "",
        "efs_tls": "true" if efs_tls else "false",
    }
    template = Template((TEMPLATES / "cloud-config.yaml.in").read_text())
    return template.substitute(values)


def render_mime(cloud_config: str) -> str:
    message = MIMEMultipart(boundary="==cloudblog-user-data==")
    parts = [
        (cloud_config, "cloud-config", "cloud-config.yaml"),
        ((TEMPLATES / "report.sh").read_text(), "x-shellscript", "report.sh"),
    ]
    for text, subtype, filename in parts:
        part = MIMEText(text, subtype, "us-ascii")
        part.add_header("Content-Disposition", "attachment", filename=filename)
        message.attach(part)
    return message.as_string()


def render(*, output_format: str = "cloud-config", **options) -> str:
    cloud_config = render_cloud_config(**options)
    text = cloud_config if output_format == "cloud-config" else render_mime(cloud_config)
    size = len(text.encode())
    if size > USER_DATA_LIMIT:
        raise UserDataError(f"user-data is {size} bytes, over EC2's {USER_DATA_LIMIT}")
    return text


def add_parser(areas: argparse._SubParsersAction) -> None:
    area = areas.add_parser("userdata", help="user-data for instances booted from the golden AMI")
    commands = area.add_subparsers(dest="command", required=True, metavar="COMMAND")
    render_parser = commands.add_parser(
        "render", help="print the user-data for one environment and role"
    )
    render_parser.add_argument("--env", required=True, help="environment, e.g. prod, staging")
    render_parser.add_argument("--role", required=True, choices=ROLES)
    render_parser.add_argument("--ssm-path", help="SSM parameter path (default /cloudblog/ENV/)")
    render_parser.add_argument("--secret-id", help="Secrets Manager id (default cloudblog/ENV)")
    render_parser.add_argument("--efs-id", default="", help="EFS file system for media (fs-...)")
    render_parser.add_argument(
        "--no-efs-tls",
        dest="efs_tls",
        action="store_false",
        help="mount EFS as plain NFS 4.1 (no amazon-efs-utils on the image)",
    )
    render_parser.add_argument(
        "--format", dest="output_format", choices=("cloud-config", "mime"), default="cloud-config"
    )
    render_parser.add_argument("--output", type=Path, help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    try:
        text = render(
            output_format=args.output_format,
            env=args.env,
            role=args.role,
            ssm_path=args.ssm_path,
            secret_id=args.secret_id,
            efs_id=args.efs_id,
            efs_tls=args.efs_tls,
        )
    except UserDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0
