"""The one view behind /wp-json/ and ?rest_route=: find the route, read the arguments,
run the handler, and shape the answer (errors, _fields, _envelope) as WordPress does.

Django REST framework does the HTTP work: content negotiation, the JSON and multipart
parsers, the authentication classes (wordpress/api/auth.py) and the exception hook.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from webtier.page_cache import SHARED_READ_FLAG
from wordpress.api import routing
from wordpress.api.auth import ApplicationPasswordAuthentication, CookieNonceAuthentication
from wordpress.api.errors import WPError, forbidden
from wordpress.api.fields import filter_fields
from wordpress.api.params import flatten_query, read_args
from wordpress.api.shared_reads import is_shared, shows_protected

logger = logging.getLogger(__name__)

API_PREFIX = "/wp-json/"
_OVERRIDABLE = {"PUT", "PATCH", "DELETE", "GET", "HEAD", "POST"}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Media uploads read their own body (wordpress/api/media.py); nothing else parses one.
RAW_BODY_TYPES = ("image/", "application/octet-stream")


class _RawBodyParser(JSONParser):
    """Leaves raw uploads (`Content-Type: image/jpeg`) unread for the media handler."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


def api_root(request) -> str:
    return request.build_absolute_uri(API_PREFIX)


def _error_response(error: WPError) -> Response:
    return Response(error.body(), status=error.status, headers=error.headers)


def exception_to_wp(exc: Exception, user) -> WPError | None:
    """WordPress's answer for an exception raised while serving, or None for a real bug."""
    if isinstance(exc, WPError):
        return exc
    if isinstance(exc, drf_exceptions.ParseError):
        return WPError("rest_invalid_json", "Invalid JSON body passed.", 400)
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return WPError("rest_invalid_content_type", str(exc.detail), 415)
    if isinstance(exc, RequestDataTooBig):
        return WPError("rest_request_too_large", "The request body is too large.", 400)
    if isinstance(exc, drf_exceptions.AuthenticationFailed | drf_exceptions.NotAuthenticated):
        return WPError("rest_not_logged_in", str(exc.detail), 401)
    if isinstance(exc, PermissionDenied):
        return forbidden(user, message=str(exc) or "")
    if isinstance(exc, ValidationError):
        return validation_error(exc)
    return None


def validation_error(exc: ValidationError) -> WPError:
    """A service's ValidationError as rest_invalid_param, naming the fields it names."""
    if hasattr(exc, "error_dict"):
        params = {
            name: " ".join(m for e in errs for m in e.messages)
            for name, errs in exc.error_dict.items()
        }
        message = " ".join(params.values())
    else:
        params, message = {}, " ".join(exc.messages)
    return WPError("rest_invalid_param", message, 400, params=params)


class RestView(APIView):
    authentication_classes = [ApplicationPasswordAuthentication, CookieNonceAuthentication]
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes = [JSONParser, FormParser, MultiPartParser, _RawBodyParser]
    renderer_classes = [JSONRenderer]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_exception_handler(self):
        def handler(exc, context):
            wp = exception_to_wp(exc, getattr(context["request"], "_user", None) or _anonymous())
            return _error_response(wp) if wp else None

        return handler

    def get(self, request, route: str = ""):
        return self.serve(request, route)

    post = put = patch = delete = head = options = get

    def serve(self, request, route: str):
        method = _effective_method(request)
        found = routing.match(route)
        if found is None and method == "OPTIONS":
            return Response([])  # WordPress answers an unknown route's OPTIONS with no data
        if found is None:
            raise WPError(
                "rest_no_route", "No route was found matching the URL and request method.", 404
            )
        route_obj, url_args = found
        # As rest_send_allow_header: on every answer of a matched route, errors included.
        request._wp_allow = ", ".join(route_obj.allowed_methods(request.user))
        if method == "OPTIONS":
            # As WordPress's rest_handle_options_request: the route's description and
            # schema, for a browser's CORS preflight too (wordpress/api/cors.py).
            from wordpress.api.index import describe_route

            return Response(describe_route(route_obj, api_root(request), with_schema=True))
        endpoint = route_obj.endpoint_for("GET" if method == "HEAD" else method)
        if endpoint is None:
            raise WPError(
                "rest_no_route", "No route was found matching the URL and request method.", 404
            )
        query = flatten_query(request.query_params)
        sources, strict = [url_args], None
        if method in _WRITES:
            body = _body(request)
            sources.append(body)
            if endpoint.strict_body:
                strict = frozenset(body)
        sources.append(query)
        args = read_args(endpoint.args, sources, strict=strict)
        call = routing.Call(
            request=request,
            user=request.user,
            method=method,
            args=args,
            url_args=url_args,
            root=api_root(request),
        )
        reply = _run(endpoint, call, route_obj, query)
        data = reply.data
        if "_fields" in query and data is not None:
            data = filter_fields(data, query["_fields"])
        response = Response(data, status=reply.status, headers=reply.headers)
        # A shared read's answer is the anonymous one, headers too: it is cached for all.
        shared = getattr(request._request, SHARED_READ_FLAG, False)
        request._wp_allow = ", ".join(
            route_obj.allowed_methods(_anonymous() if shared else request.user)
        )
        if "_envelope" in query:
            envelope = {"body": data, "status": reply.status, "headers": dict(reply.headers)}
            response = Response(envelope, status=200)
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        allow = getattr(request, "_wp_allow", "")
        if allow:
            response["Allow"] = allow  # what this caller may do here, not every verb
        else:
            # No route matched, or nothing is allowed: WordPress sends no header (DRF's
            # would list every verb of the view).
            response.headers.pop("Allow", None)
        # WordPress sends these two on every REST answer; the origin-dependent CORS
        # headers come from django-cors-headers (config/settings.py, CORS_*).
        response["Access-Control-Expose-Headers"] = ", ".join(settings.CORS_EXPOSE_HEADERS)
        response["Access-Control-Allow-Headers"] = ", ".join(settings.CORS_ALLOW_HEADERS)
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _run(endpoint: routing.Endpoint, call: routing.Call, route, query: dict) -> routing.Reply:
    """The handler's reply; for a signed-in shared read, the anonymous one when it is a 200
    that shows nothing the caller might see more of (wordpress/api/shared_reads.py)."""
    if call.method in ("GET", "HEAD") and call.user.is_authenticated and is_shared(route, query):
        try:
            reply = endpoint.handler(replace(call, user=_anonymous()))
        except WPError:
            reply = None  # hidden from anonymous readers (a draft): the caller's own answer
        if reply is not None and reply.status == 200 and not shows_protected(reply.data):
            # The page cache stores it for everyone, signed in or not.
            setattr(call.request._request, SHARED_READ_FLAG, True)
            return reply
    return endpoint.handler(call)


def _anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def _effective_method(request) -> str:
    """X-HTTP-Method-Override or ?_method=, honoured on POST as WordPress does."""
    method = request.method.upper()
    if method == "POST":
        override = request.META.get("HTTP_X_HTTP_METHOD_OVERRIDE") or request.query_params.get(
            "_method"
        )
        if override and override.upper() in _OVERRIDABLE:
            return override.upper()
    return method


def _body(request) -> dict:
    content_type = request.content_type or ""
    if content_type.startswith(RAW_BODY_TYPES):
        return {}
    if request.META.get("CONTENT_LENGTH") in (None, "", "0"):
        return {}  # an empty JSON body is no body, as WordPress reads it
    data = request.data
    if hasattr(data, "getlist"):
        return flatten_query(data)
    if data is None:
        return {}  # `null`
    if not isinstance(data, dict):
        raise WPError("rest_invalid_json", "The JSON body must be an object.", 400)
    return data


rest_view = RestView.as_view()


def rest_route_view(request, route: str = ""):
    return rest_view(request, route=route)


def not_json_error(status: int, code: str, message: str) -> HttpResponse:
    body = {"code": code, "message": message, "data": {"status": status}}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")
