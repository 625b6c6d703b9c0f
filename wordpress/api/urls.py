"""/wp-json/<route>: every route goes to the one dispatcher (wordpress/api/views.py),
except /wp-json/openapi.json, the OpenAPI description of them (wordpress/api/openapi.py).

`?rest_route=/wp/v2/posts` on any URL reaches the same view through
wordpress/api/middleware.py, for clients of sites without pretty permalinks.
"""

from django.urls import path, re_path

from wordpress.api import (
    comments,
    index,
    kinds,
    media,
    people,
    posts,
    search,
    site_settings,
    terms,
)
from wordpress.api.openapi import openapi_view
from wordpress.api.views import rest_view

app_name = "wp-api"

for module in (index, posts, terms, people, comments, media, search, site_settings, kinds):
    module.register_routes()

urlpatterns = [
    path("openapi.json", openapi_view, name="openapi"),
    re_path(r"^(?P<route>.*)$", rest_view, name="route"),
]
