"""Where an instance's configuration comes from: IMDSv2, SSM Parameter Store, Secrets Manager.

Every endpoint is overridable: the IMDS base URL by argument (CLOUDBLOG_IMDS_URL), AWS
by AWS_ENDPOINT_URL as boto3 reads it, so tests run against a fake IMDS and moto.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError

import awsenv
from userdata.envfile import NAME

logger = logging.getLogger(__name__)
TOKEN_TTL_SECONDS = 300


class SourceError(Exception):
    """A configuration source did not give what the instance needs."""


@dataclass(frozen=True)
class Instance:
    region: str
    instance_id: str
    private_ip: str


def _imds_request(url: str, *, method: str = "GET", headers: dict, timeout: float) -> str:
    if not url.startswith(("http://", "https://")):
        raise SourceError(f"the IMDS URL must be http(s), got {url!r}")
    # The URL is the configured IMDS base: http://169.254.169.254 or a test server.
    request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.read().decode()


def instance_identity(base_url: str, *, attempts: int = 3, delay: float = 1.0) -> Instance:
    """Region, instance id and private IP through IMDSv2 (a session token on every call)."""
    base = base_url.rstrip("/")
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            token = _imds_request(
                f"{base}/latest/api/token",
                method="PUT",
                headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_SECONDS)},
                timeout=2,
            )
            headers = {"X-aws-ec2-metadata-token": token}

            def get(path: str, headers: dict = headers) -> str:
                return _imds_request(f"{base}/latest/meta-data/{path}", headers=headers, timeout=2)

            return Instance(
                region=get("placement/region"),
                instance_id=get("instance-id"),
                private_ip=get("local-ipv4"),
            )
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            logger.info("IMDSv2 at %s: attempt %d/%d failed: %s", base, attempt, attempts, exc)
            if attempt < attempts:
                time.sleep(delay)
    raise SourceError(f"IMDSv2 at {base} did not answer after {attempts} attempts: {last}")


def ssm_parameters(region: str, path: str) -> tuple[dict[str, str], set[str]]:
    """Every parameter under `path`, by its last segment; and the names of SecureStrings."""
    client = boto3.client("ssm", **awsenv.client_options(region_name=region))
    values: dict[str, str] = {}
    secure: set[str] = set()
    try:
        pages = client.get_paginator("get_parameters_by_path").paginate(
            Path=path, Recursive=True, WithDecryption=True
        )
        for page in pages:
            for parameter in page["Parameters"]:
                name = parameter["Name"].rsplit("/", 1)[-1]
                if not NAME.match(name):
                    raise SourceError(
                        f"SSM parameter {parameter['Name']} does not end in a variable name"
                    )
                values[name] = parameter["Value"]
                if parameter["Type"] == "SecureString":
                    secure.add(name)
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"SSM get_parameters_by_path({path}) failed: {exc}") from None
    if not values:
        raise SourceError(f"no SSM parameters under {path}: is CLOUDBLOG_SSM_PATH right?")
    return values, secure


def secret_values(region: str, secret_id: str) -> dict[str, str]:
    """The secret's JSON object of NAME: value pairs."""
    client = boto3.client("secretsmanager", **awsenv.client_options(region_name=region))
    try:
        secret = client.get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as exc:
        raise SourceError(f"Secrets Manager get_secret_value({secret_id}) failed: {exc}") from None
    try:
        values = json.loads(secret.get("SecretString") or "")
    except ValueError:
        # Never echo the content: it is the secret.
        raise SourceError(f"secret {secret_id} is not a JSON object of NAME: value") from None
    if not isinstance(values, dict) or not values:
        raise SourceError(f"secret {secret_id} is not a JSON object of NAME: value")
    for name, value in values.items():
        if not NAME.match(name) or not isinstance(value, str):
            raise SourceError(f"secret {secret_id}: key {name!r} is not NAME with a string value")
    return values
