"""`/worker/`: the Elastic Beanstalk worker daemon's door (the sqsd contract).

The daemon on the worker instance POSTs each SQS message body here; only a 200 deletes
the message (notes: sqsd). The job itself runs in worker/jobs.py, as for run_worker.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from worker.jobs import Job, Outcome, run_job

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Worker-Secret"  # noqa: S105 (a header name, not a secret)


def _all_loopback(addresses: list[str]) -> bool:
    try:
        return all(ipaddress.ip_address(a.strip()).is_loopback for a in addresses)
    except ValueError:
        return False


def refusal(request: HttpRequest) -> str:
    """Why this request may not run jobs, or "" when it comes from the local daemon."""
    # nginx on the same host makes every request loopback at gunicorn: a request that
    # came through the load balancer still carries a non-loopback X-Forwarded-For hop.
    hops = [request.META.get("REMOTE_ADDR", "")]
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops += [hop for hop in forwarded.split(",") if hop.strip()]
    if not _all_loopback(hops):
        return f"not from loopback ({', '.join(h.strip() for h in hops)})"
    secret = settings.WORKER_SHARED_SECRET
    if secret:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return f"missing or wrong {SECRET_HEADER}"
    return ""


def _header_int(request: HttpRequest, name: str, default: int) -> int:
    try:
        return max(int(request.headers.get(name, default)), 1)
    except ValueError:
        return default


@csrf_exempt  # the daemon has no CSRF token; refusal() is the guard
@never_cache
@require_POST
def worker_endpoint(request: HttpRequest) -> JsonResponse:
    """The Beanstalk worker daemon's door: only a 200 deletes the message."""
    why = refusal(request)
    if why:
        logger.warning("worker: refused a request: %s", why)
        return JsonResponse({"error": "forbidden"}, status=403)
    message_id = request.headers.get("X-Aws-Sqsd-Msgid", "").strip()
    if not message_id:
        return JsonResponse({"error": "X-Aws-Sqsd-Msgid is required"}, status=400)
    job = Job(
        message_id=message_id[:128],
        body=request.body.decode("utf-8", errors="replace"),
        receive_count=_header_int(request, "X-Aws-Sqsd-Receive-Count", 1),
        periodic_name=request.headers.get("X-Aws-Sqsd-Taskname", "").strip(),
        source="endpoint",
    )
    outcome = run_job(job)
    if outcome.acknowledged:
        status = 200
    elif outcome == Outcome.BUSY:
        status = 409
    else:
        status = 500
    return JsonResponse({"message_id": job.message_id, "outcome": str(outcome)}, status=status)
