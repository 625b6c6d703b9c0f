"""Facts about a request behind the load balancer: its id and the client's address."""

from __future__ import annotations

import re
import uuid

from django.conf import settings

_SANE_ID = re.compile(r"^[A-Za-z0-9=;:._-]{8,200}$")


class RequestIdMiddleware:
    """Sets `request.id` and the `X-Request-ID` response header (gunicorn logs it).

    An id from `X-Request-ID` (nginx) or `X-Amzn-Trace-Id` (the ALB) is kept so one
    request can be followed across the load balancer, nginx and the app.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID") or request.META.get(
            "HTTP_X_AMZN_TRACE_ID", ""
        )
        request.id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.id
        return response


def client_ip(request) -> str | None:
    """The visitor's address: REMOTE_ADDR, or the entry our own proxies appended to XFF.

    With TRUSTED_PROXY_COUNT = N (ALB, nginx...), the Nth address from the right of
    X-Forwarded-For is the one the outermost proxy saw; anything left of it is the
    client's to forge.
    """
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")
