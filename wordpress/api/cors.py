"""django-cors-headers, letting a preflight reach the API as WordPress answers it.

django-cors-headers answers a preflight (`OPTIONS` with `Access-Control-Request-Method`)
itself, with an empty body. WordPress serves it like any OPTIONS request
(rest_handle_options_request): the route's description and schema, and `Allow` with the
methods the caller may use, plus its CORS headers (rest_send_cors_headers). So here the
preflight goes on to the API's view, and the CORS headers are added to its answer as to
any other (config/settings.py, CORS_*).
"""

from __future__ import annotations

from corsheaders.middleware import CorsMiddleware


class WordPressCorsMiddleware(CorsMiddleware):
    def check_preflight(self, request):
        request._cors_enabled = self.is_enabled(request)
        return None
