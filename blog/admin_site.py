"""The admin site: the dashboard at /admin/ and a "System" section only administrators see.

Installed as Django documents it, through an AdminConfig whose `default_site` is this
site (INSTALLED_APPS names `blog.admin_site.BlogAdminConfig` instead of
`django.contrib.admin`), so every app's `@admin.register` lands here unchanged.
Nothing here imports a model at module level: the AppConfig is loaded with the settings.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import path

# Internal machinery, not content: the task tier's runs, django-tasks' results and queue.
SYSTEM_APPS = ("worker", "django_tasks", "django_tasks_db")
SYSTEM_LABEL = "system"


def is_administrator(user) -> bool:
    from blog import roles

    return roles.user_role(user) == roles.ADMINISTRATOR


class BlogAdminSite(admin.AdminSite):
    index_template = "admin/dashboard.html"

    def get_app_list(self, request, app_label=None):
        if app_label == SYSTEM_LABEL:
            app_label = None
        apps = super().get_app_list(request, app_label)
        content = [app for app in apps if app["app_label"] not in SYSTEM_APPS]
        system = [m for app in apps if app["app_label"] in SYSTEM_APPS for m in app["models"]]
        if system and is_administrator(request.user):
            system.sort(key=lambda model: model["name"])
            content.append(
                {
                    "name": "System",
                    "app_label": SYSTEM_LABEL,
                    "app_url": system[0]["admin_url"] or "",
                    "has_module_perms": True,
                    "models": system,
                }
            )
        return content

    def get_urls(self):
        from blog import admin_dashboard

        wrap = self.admin_view
        return [
            path(
                "dashboard/comments/<int:comment_id>/<str:action>/",
                wrap(admin_dashboard.moderate_view),
                name="dashboard_moderate",
            ),
            path(
                "dashboard/quick-draft/",
                wrap(admin_dashboard.quick_draft_view),
                name="quick_draft",
            ),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        from blog import admin_dashboard

        context = {**admin_dashboard.dashboard_context(request), **(extra_context or {})}
        return super().index(request, extra_context=context)


class BlogAdminConfig(AdminConfig):
    default_site = "blog.admin_site.BlogAdminSite"
