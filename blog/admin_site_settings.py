"""Site settings in the admin: one page (Blog → Site settings) for administrators only.

There is never a list or an "add": the list opens the one row, which is shown with
the values the site uses now (the environment's until it is first saved). Saving goes
through services.site_settings_update, as the API's POST /wp/v2/settings does.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse

from blog import services
from blog.site_settings import NAMES, SINGLETON_PK, SiteSettings, site_settings


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        ("Site", {"fields": ("title", "description", "site_address", "email", "language")}),
        ("Dates", {"fields": ("timezone", "date_format", "time_format", "start_of_week")}),
        (
            "Reading and writing",
            {
                "fields": (
                    "posts_per_page",
                    "default_comment_status",
                    "default_ping_status",
                    "default_category",
                )
            },
        ),
    )
    readonly_fields = ("site_address",)

    @admin.display(description="site address")
    def site_address(self, obj) -> str:
        # Where the site is reached is the deployment's (SITE_URL), not a setting to edit.
        return settings.SITE_URL or "The address each request comes in on (SITE_URL is unset)."

    def _allowed(self, request) -> bool:
        return services.site_settings_can_manage(request.user)

    def has_module_permission(self, request) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            return super().changelist_view(request, extra_context)  # the admin's 403
        return redirect(reverse("admin:blog_sitesettings_change", args=[SINGLETON_PK]))

    def get_object(self, request, object_id, from_field=None):
        if str(object_id) != str(SINGLETON_PK):
            return None
        found = super().get_object(request, object_id, from_field)
        # Not saved yet: the values in force, so the first save keeps what is not changed.
        return found or SiteSettings(pk=SINGLETON_PK, **vars(site_settings()))

    def save_model(self, request, obj, form, change) -> None:
        # The form has checked the model's rules already; the service checks them again.
        changes = {name: getattr(obj, name) for name in NAMES}
        services.site_settings_update(changes=changes, by=request.user)
