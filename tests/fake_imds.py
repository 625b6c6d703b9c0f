"""A fake EC2 instance metadata service (IMDSv2 only) on 127.0.0.1, for boot tests."""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeImds:
    """Answers GETs only with a token from PUT /latest/api/token, as IMDSv2-required does."""

    def __init__(self, metadata: dict[str, str]) -> None:
        self.metadata = metadata
        self.tokens: set[str] = set()
        self.requests: list[tuple[str, str, bool]] = []  # method, path, had a valid token
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, body: str = "") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                imds.requests.append(("PUT", self.path, False))
                if self.path != "/latest/api/token" or not self.headers.get(
                    "X-aws-ec2-metadata-token-ttl-seconds"
                ):
                    return self._reply(400)
                token = secrets.token_urlsafe(16)
                imds.tokens.add(token)
                return self._reply(200, token)

            def do_GET(self) -> None:
                valid = self.headers.get("X-aws-ec2-metadata-token") in imds.tokens
                imds.requests.append(("GET", self.path, valid))
                if not valid:
                    return self._reply(401)
                key = self.path.removeprefix("/latest/meta-data/")
                if key not in imds.metadata:
                    return self._reply(404)
                return self._reply(200, imds.metadata[key])

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeImds:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
