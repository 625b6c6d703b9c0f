"""Discovery and ?rest_route=, as WordPress does them on every page of a site.

- Every HTML page answers `Link: <…/wp-json/>; rel="https://api.w.org/"`, which is how
  clients (node-wpapi's discover(), the mobile apps) find the API from a site's address.
  It sits inside the page cache, so cached pages carry it too.
- `/?rest_route=/wp/v2/posts` is the API for sites without pretty permalinks.
"""

from __future__ import annotations

from wordpress.api.views import API_PREFIX, rest_view

REL = "https://api.w.org/"


def cors_for_rest_route(sender, request, **kwargs) -> bool:
    """django-cors-headers covers /wp-json/ by path; this adds `/?rest_route=`."""
    return request.path == "/" and "rest_route" in request.GET


class RestApiMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/" and "rest_route" in request.GET:
            response = rest_view(request, route=request.GET["rest_route"])
            return response.render()  # from a middleware, nothing else renders it
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and not request.path.startswith(
            API_PREFIX
        ):
            link = f'<{request.build_absolute_uri(API_PREFIX)}>; rel="{REL}"'
            existing = response.get("Link")
            response["Link"] = f"{existing}, {link}" if existing else link
        return response
