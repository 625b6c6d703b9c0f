from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "cloudblog"
admin.site.site_title = "cloudblog admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("blog.urls")),
]
