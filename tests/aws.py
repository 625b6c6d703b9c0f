"""moto in server mode on 127.0.0.1: the AWS that tests talk to.

One server per test session; the `aws` fixture (tests/conftest.py) resets its state and
points boto3 at it through the environment, exactly as production code reads its endpoint.
"""

from __future__ import annotations

import urllib.request

from moto.server import ThreadedMotoServer

REGION = "us-east-1"


class MotoServer:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> None:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def environment(self) -> dict[str, str]:
        """What a process needs to reach this server with boto3 or the AWS CLI."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            # No shared config or credentials from the machine can leak into a test.
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }
