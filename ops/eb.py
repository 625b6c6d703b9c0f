"""`python -m ops eb bundle`: the Elastic Beanstalk source bundle, deterministic.

The checkout's git-tracked files (as they are in the working tree) less what an instance
must not carry (tests, benchmarks, the AMI and CloudFormation sources, local state,
anything that looks like a secret), plus the platform files from deploy/beanstalk/ for
one tier and one mode. Entries are sorted and every timestamp and mode is fixed, so the
same checkout gives the same bytes: a bundle can be rebuilt and compared.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "deploy" / "beanstalk"
TIERS = ("web", "worker")
MODES = ("ha", "single")
# The earliest time a zip can hold: no build time leaks into the bytes.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDED_DIRS = ("tests/", "bench/", "var/", ".venv/", ".ci/", "ami/", "deploy/", "scripts/")
EXCLUDED_FILES = ("Makefile", ".gitignore", "cron.yaml")
SECRET_PATTERNS = ("*.pem", "*.key", "*.p12", ".env", "*.env", "id_rsa*", "*secret*", "*.sqlite3")
REQUIREMENTS = (
    "# Elastic Beanstalk installs this: the project with its MySQL and Redis clients.\n"
    ".[services]\n"
)


class BundleError(Exception):
    pass


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise BundleError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _tracked() -> list[str]:
    names = [n for n in _git("ls-files", "-z").split("\0") if n]
    return sorted(
        name
        for name in names
        if not name.startswith(EXCLUDED_DIRS)
        and name not in EXCLUDED_FILES
        and not any(fnmatch(Path(name).name.lower(), p) for p in SECRET_PATTERNS)
        and (ROOT / name).is_file()
    )


def _platform_files(tier: str, mode: str) -> dict[str, Path]:
    """Bundle path -> source under deploy/beanstalk/ for this tier and mode."""
    ext = SOURCES / "ebextensions"
    files = {
        "Procfile": SOURCES / "Procfile",
        ".ebextensions/01-environment.config": ext / "01-environment.config",
        ".ebextensions/02-migrate.config": ext / "02-migrate.config",
        f".ebextensions/03-{tier}.config": ext / f"03-{tier}.config",
        f".ebextensions/04-mode-{mode}.config": ext / f"04-mode-{mode}.config",
        ".platform/nginx/conf.d/elasticbeanstalk/cloudblog.conf": (
            SOURCES / "platform" / "nginx" / f"{tier}.conf"
        ),
        ".platform/hooks/predeploy/01-collectstatic.sh": (
            SOURCES / "platform" / "hooks" / "collectstatic.sh"
        ),
        # Config deploys run the same hooks as code deploys on Amazon Linux 2023.
        ".platform/confighooks/predeploy/01-collectstatic.sh": (
            SOURCES / "platform" / "hooks" / "collectstatic.sh"
        ),
    }
    if tier == "worker":
        files["cron.yaml"] = ROOT / "cron.yaml"
    return files


def _entry(name: str, data: bytes, *, executable: bool) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, so the modes below mean what they say
    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
    return info, data


def build(*, tier: str, mode: str) -> tuple[bytes, list[str]]:
    """The zip's bytes and its entry names."""
    if tier not in TIERS or mode not in MODES:
        raise BundleError(f"tier must be one of {TIERS} and mode one of {MODES}")
    entries: dict[str, tuple[zipfile.ZipInfo, bytes]] = {}
    for name in _tracked():
        path = ROOT / name
        entries[name] = _entry(
            name, path.read_bytes(), executable=bool(path.stat().st_mode & 0o111)
        )
    for name, source in _platform_files(tier, mode).items():
        if not source.is_file():
            raise BundleError(f"{source} is missing")
        entries[name] = _entry(name, source.read_bytes(), executable=name.endswith(".sh"))
    release = _git("rev-parse", "HEAD").strip()
    entries["RELEASE"] = _entry("RELEASE", f"{release}\n".encode(), executable=False)
    entries["requirements.txt"] = _entry(
        "requirements.txt", REQUIREMENTS.encode(), executable=False
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info, data = entries[name]
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue(), sorted(entries)


def add_parser(areas: argparse._SubParsersAction) -> None:
    area = areas.add_parser("eb", help="Elastic Beanstalk: the source bundle")
    commands = area.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bundle = commands.add_parser(
        "bundle",
        help="build a deterministic source bundle zip from this checkout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: 0 built, 1 error (not a git checkout, a file missing), 2 bad usage",
    )
    bundle.add_argument("--tier", required=True, choices=TIERS)
    bundle.add_argument("--mode", default="ha", choices=MODES, help="default: %(default)s")
    bundle.add_argument(
        "--output",
        type=Path,
        help="where to write it (default: var/eb/cloudblog-TIER-MODE-RELEASE.zip)",
    )
    bundle.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    import json

    try:
        data, names = build(tier=args.tier, mode=args.mode)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    release = _git("rev-parse", "--short", "HEAD").strip()
    output = args.output or ROOT / "var" / "eb" / f"cloudblog-{args.tier}-{args.mode}-{release}.zip"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    result = {
        "path": str(output),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "files": len(names),
        "tier": args.tier,
        "mode": args.mode,
    }
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0
