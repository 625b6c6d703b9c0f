"""A Debian root file system made with debootstrap, to run the AMI's provisioning scripts
for real (tests/ami/test_ami_chroot.py) and to time boots (bench/boot_time.py). Needs root.

Where it differs from an EC2 build instance, on purpose: services are not started while
packages install (policy-rc.d), systemd is not running (the scripts then make the enable
symlinks themselves), and the network namespace is the host's, so 127.0.0.1 inside is the
host's loopback: MariaDB, Redis, moto and a fake IMDS are reachable from the chroot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUITE = os.environ.get("CLOUDBLOG_CHROOT_SUITE", "bookworm")
MIRROR = os.environ.get("CLOUDBLOG_CHROOT_MIRROR", "http://deb.debian.org/debian")
BUILD_DIR = "/tmp/cloudblog-build"
PROVISION = sorted((REPO / "ami" / "provision").glob("*.sh"))
HOST_CA_BUNDLE = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def debootstrap(target: Path) -> None:
    subprocess.run(
        ["debootstrap", "--variant=minbase", SUITE, str(target), MIRROR],
        check=True,
        capture_output=True,
        timeout=900,
    )


class Chroot:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._mounted: list[Path] = []

    def __enter__(self) -> Chroot:
        for source, name, options in (
            ("proc", "proc", ["-t", "proc"]),
            ("/dev", "dev", ["--bind"]),
            ("/dev/pts", "dev/pts", ["--bind"]),
        ):
            target = self.root / name
            target.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", *options, source, str(target)], check=True)
            self._mounted.append(target)
        shutil.copy("/etc/resolv.conf", self.root / "etc" / "resolv.conf")
        # Packages must not start their services in the chroot.
        policy = self.root / "usr" / "sbin" / "policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        return self

    def __exit__(self, *exc) -> None:
        (self.root / "usr" / "sbin" / "policy-rc.d").unlink(missing_ok=True)
        for target in reversed(self._mounted):
            subprocess.run(["umount", "--lazy", str(target)], check=False)
        self._mounted.clear()

    def run(
        self, *command: str, env: dict[str, str] | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess:
        environment = {"PATH": PATH, "LANG": "C.UTF-8", "HOME": "/root", **(env or {})}
        return subprocess.run(
            ["chroot", str(self.root), "/usr/bin/env", "-i", *_pairs(environment), *command],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stage_build(self) -> None:
        """What Packer's file provisioners upload: the wheel and ami/files."""
        build = self.root / BUILD_DIR.lstrip("/")
        shutil.rmtree(build, ignore_errors=True)
        (build / "dist").mkdir(parents=True)
        # setuptools builds in the checkout's build/: leave no copy of the code behind.
        leftover = not (REPO / "build").exists()
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
             str(build / "dist"), str(REPO)],
            check=True,
            capture_output=True,
            timeout=300,
        )  # fmt: skip
        if leftover:
            shutil.rmtree(REPO / "build", ignore_errors=True)
        shutil.copytree(REPO / "ami" / "files", build / "files")
        # This machine reaches PyPI through a proxy with its own CA: hand pip the host's
        # trust store for the build (like a build host behind a corporate proxy). It sits
        # in /tmp, which the cleanup script empties.
        shutil.copy(HOST_CA_BUNDLE, self.root / "tmp" / "host-ca.crt")
        scripts = self.root / "tmp" / "provision"
        shutil.rmtree(scripts, ignore_errors=True)
        shutil.copytree(REPO / "ami" / "provision", scripts)

    def provision(self, scripts: list[Path], env: dict[str, str]) -> list[tuple[str, float]]:
        """Run scripts in order as Packer would; returns (name, seconds) per script."""
        timings = []
        for script in scripts:
            started = time.monotonic()
            result = self.run("bash", f"/tmp/provision/{script.name}", env=env)
            if result.returncode != 0:
                raise AssertionError(
                    f"{script.name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
                )
            timings.append((script.name, time.monotonic() - started))
        return timings


def build_env(**extra: str) -> dict[str, str]:
    return {
        "BUILD_DIR": BUILD_DIR,
        "APP_VERSION": "0.1.0",
        "GIT_SHA": "0123456789abcdef0123",
        "CLOUDWATCH_AGENT_URL": "",
        "DEBIAN_FRONTEND": "noninteractive",
        "PIP_CERT": "/tmp/host-ca.crt",
        **extra,
    }


def _pairs(env: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in env.items()]
