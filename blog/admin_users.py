"""The Users screen with a Role field: roles are applied through services.user_set_role."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from blog import roles, services

User = get_user_model()


_ROLE_CHOICES = [("", "No role"), *((role, role) for role in roles.ROLES)]


class _RoleFormMixin(forms.Form):
    role = forms.ChoiceField(choices=_ROLE_CHOICES, required=False)
    by = None  # set by the admin per request

    def clean_role(self):
        role = self.cleaned_data["role"] or None
        services.user_role_check(user=self.instance, role=role, by=self.by)
        return role


class UserChangeForm(_RoleFormMixin, auth_forms.UserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = roles.user_role(self.instance) or ""


class UserCreationForm(_RoleFormMixin, auth_forms.AdminUserCreationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].initial = roles.SUBSCRIBER  # WordPress's default role


class _RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [*((role, role) for role in roles.ROLES), ("none", "No role")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.exclude(groups__name__in=roles.ROLES).filter(is_superuser=False)
        if value == roles.ADMINISTRATOR:
            return queryset.filter(Q(groups__name=value) | Q(is_superuser=True)).distinct()
        if value in roles.ROLES:
            return queryset.filter(groups__name=value)
        return queryset


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    """Django's user admin with one WordPress role instead of free-form groups."""

    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = (_RoleFilter, "is_active")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Role", {"fields": ("role", "is_active", "is_staff", "is_superuser", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": (
            "username", "email", "role", "usable_password", "password1", "password2",
        )}),
    )  # fmt: skip
    filter_horizontal = ("user_permissions",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_readonly_fields(self, request, obj=None):
        # Staff access follows the role; only a superuser makes another superuser.
        fixed = ("is_staff", "last_login", "date_joined")
        return fixed if request.user.is_superuser else (*fixed, "is_superuser")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.by = request.user
        return form

    @admin.display(description="Role")
    def role(self, obj):
        return roles.user_role(obj) or "—"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.user_set_role(user=form.instance, role=form.cleaned_data["role"], by=request.user)
