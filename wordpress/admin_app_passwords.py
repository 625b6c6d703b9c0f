"""Application passwords on the user's page in the admin, as on a WordPress profile.

Add one by typing a name in the empty row and saving: the new password is shown once,
in the confirmation message. Tick "Delete?" to revoke one. Both go through the
services in wordpress/app_passwords.py.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from blog.admin_users import UserAdmin as BlogUserAdmin
from wordpress.app_passwords import (
    ApplicationPassword,
    app_password_create,
    app_password_revoke,
    chunked,
)

User = get_user_model()


class ApplicationPasswordInline(admin.TabularInline):
    model = ApplicationPassword
    fields = ("name", "uuid", "created_at", "last_used_at", "last_ip")
    readonly_fields = ("uuid", "created_at", "last_used_at", "last_ip")
    extra = 1
    verbose_name_plural = "application passwords (for the REST API; shown once when added)"

    def has_change_permission(self, request, obj=None):
        return False  # a name is set once; revoke and add another

    def has_add_permission(self, request, obj=None):
        return obj is not None and (
            obj.pk == request.user.pk or request.user.has_perm("auth.change_user")
        )

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        # Who may manage a user's passwords may see them: the user and user managers, by
        # the services' rule rather than model permissions no role grants. Without `obj`
        # the admin asks for the rows of the user page it already let this visitor open.
        return obj is None or self.has_add_permission(request, obj)


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BlogUserAdmin):
    inlines = [*BlogUserAdmin.inlines, ApplicationPasswordInline]

    def get_inlines(self, request, obj):
        # A user being added has no passwords yet; they are added on the user's page.
        return self.inlines if obj is not None else BlogUserAdmin.inlines

    def save_formset(self, request, form, formset, change):
        if formset.model is not ApplicationPassword:
            return super().save_formset(request, form, formset, change)
        for inline_form in formset.deleted_forms:
            if inline_form.instance.pk:
                app_password_revoke(item=inline_form.instance, by=request.user)
                messages.info(
                    request, f"Application password “{inline_form.instance.name}” revoked."
                )
        for inline_form in formset.extra_forms:
            if not inline_form.has_changed() or inline_form in formset.deleted_forms:
                continue
            name = inline_form.cleaned_data.get("name")
            if not name:
                continue
            try:
                item, secret = app_password_create(user=form.instance, name=name, by=request.user)
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
                continue
            messages.success(
                request,
                f"New application password “{item.name}”: {chunked(secret)} — copy it now, "
                "it will not be shown again.",
            )
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
