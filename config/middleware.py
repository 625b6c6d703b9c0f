"""Request ids: one per request, from the load balancer when it sent a sane one."""

from __future__ import annotations

import re
import uuid

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
