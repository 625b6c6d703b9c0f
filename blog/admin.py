"""The admin is the editor, with WordPress semantics and the roles of blog/roles.py.

Every write of a post, page, comment status or role goes through blog/services/,
so the rules hold whether a request comes from a form, an action or a forged POST.
The admin adds what a user sees: choices limited to what they may pick, 403 for
objects they may not touch, and a message naming whatever an action refused.

Deleting a post or page from the admin moves it to the Trash, as WordPress does;
nothing is deleted for good here: `trash_empty` (the `empty_trash` command) removes
what has been in the Trash for TRASH_DAYS.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from blog import services
from blog.admin_autosave import AutosaveViewsMixin
from blog.admin_editor import EditorViewsMixin, PublishWhen, add_desk_fields, clean_publish_when
from blog.admin_lists import StatusFilter, counted_once_paginator, list_scope, row_actions
from blog.admin_revisions import RevisionViewsMixin
from blog.models import Category, Page, Post, Tag

User = get_user_model()


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You may not do this."


def _add_service_error(form: forms.Form, exc: ValidationError | PermissionDenied) -> None:
    """Show a service's refusal on the form: on its field when the form has it."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, _error_text(exc))


def _run_per_object(modeladmin, request, queryset, service, done_verb: str) -> None:
    """Apply a post service to each object; report successes and each refusal by name."""
    done, refused = 0, []
    for obj in queryset:
        try:
            service(post=obj, by=request.user)
        except (PermissionDenied, ValidationError) as exc:
            refused.append(f"“{obj}” ({_error_text(exc)})")
        else:
            done += 1
    if done:
        noun = modeladmin.opts.verbose_name if done == 1 else modeladmin.opts.verbose_name_plural
        modeladmin.message_user(request, f"{done_verb} {done} {noun}.", messages.SUCCESS)
    if refused:
        modeladmin.message_user(
            request, f"Refused {len(refused)}: {'; '.join(refused)}", messages.WARNING
        )
    if not done and not refused:
        modeladmin.message_user(request, "Nothing was selected.", messages.INFO)


# --- Posts and pages --------------------------------------------------------


PUBLISH_FIELDS = ("status", "publish_when", "published_at", "author")
_TRASH = Post.Status.TRASH


class ContentForm(forms.ModelForm):
    """The editor form; the admin sets `user` on the class it builds per request."""

    user = None
    kind = Post.Kind.POST
    preview_url = ""
    publish_when = PublishWhen()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        post = self.instance
        add_desk_fields(self, user=self.user, preview_url=self.preview_url)
        if post.pk is None:
            post.kind = self.kind
            if "author" not in self.fields:
                post.author = self.user
        if "status" in self.fields:
            allowed = set(services.post_allowed_statuses(user=self.user, post=post))
            if post.pk:
                allowed.add(post.status)  # the stored status may always stay
            self.fields["status"].choices = [
                (value, label) for value, label in Post.Status.choices if value in allowed
            ]
        if "author" in self.fields:
            self.fields["author"].queryset = User.objects.filter(
                Q(is_staff=True) | Q(pk=post.author_id)
            ).order_by("username")
        if "parent" in self.fields:
            self.fields["parent"].queryset = (
                Post.objects.pages().exclude(pk=post.pk).exclude(status=_TRASH)
            )

    def clean(self):
        cleaned = super().clean()
        clean_publish_when(self, cleaned)
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if self._errors:
            return
        try:
            services.post_check(post=self.instance, by=self.user)
        except (ValidationError, PermissionDenied) as exc:
            _add_service_error(self, exc)


class _ContentAdmin(AutosaveViewsMixin, EditorViewsMixin, RevisionViewsMixin, admin.ModelAdmin):
    """What posts and pages share: services for writes, post_can_* for permissions."""

    kind = Post.Kind.POST
    form = ContentForm
    change_form_template = "admin/blog/post/change_form.html"
    search_fields = ("title", "body")
    prepopulated_fields = {"slug": ("title",)}
    list_select_related = ("author",)
    list_per_page = 50
    # No second COUNT(*) of every post per view (blog/admin_lists.py).
    show_full_result_count = False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return counted_once_paginator(
            queryset, per_page, scope=list_scope(request), orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
        )  # fmt: skip

    def action_checkbox(self, obj):
        """Django's row checkbox, the same markup without a form widget's template: it
        was a fifth of the post list's CPU time (50 template renders a view)."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    # Which objects: the list hides others' posts; a URL to one answers 403, not 404.
    def _base_queryset(self):
        return self.model._default_manager.filter(kind=self.kind)

    def _sees_all(self, user) -> bool:
        return user.has_perm("blog.edit_others_posts")

    def get_queryset(self, request):
        queryset = self._base_queryset().select_related("author")
        if not self._sees_all(request.user):
            queryset = queryset.filter(author=request.user)
        return queryset

    def get_object(self, request, object_id, from_field=None):
        field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
        try:
            return self._base_queryset().get(**{field.name: field.to_python(object_id)})
        except (self.model.DoesNotExist, ValidationError, ValueError):
            return None

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return super().has_view_permission(request)
        return services.post_can_edit(user=request.user, post=obj)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request)
        # As in WordPress, a trashed item is read-only until restored.
        return obj.status != _TRASH and services.post_can_edit(user=request.user, post=obj)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request)
        return obj.status != _TRASH and services.post_can_delete(user=request.user, post=obj)

    # The form.
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        form.kind = self.kind
        return form

    def get_readonly_fields(self, request, obj=None):
        if self._sees_all(request.user):
            return ()
        return ("author",)

    def get_changeform_initial_data(self, request):
        return {"author": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_model(self, request, obj, form, change):
        services.post_write(post=obj, by=request.user)
        services.autosave_discard(post=obj, by=request.user)

    def _preview_url(self, obj) -> str | None:
        if obj.pk is None or obj.is_public or obj.status in (Post.Status.PRIVATE, _TRASH):
            return None
        try:
            return reverse("blog:preview", args=[obj.pk])
        except NoReverseMatch:
            return None

    def view_on_site(self, obj):
        if not (obj.is_public or obj.status == Post.Status.PRIVATE):
            return None
        try:
            return obj.get_absolute_url()
        except NoReverseMatch:
            return None

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(self.desk_context(request, obj))
        if obj is not None and obj.pk:
            recent = obj.revisions.select_related("author")[:5]
            context.update(
                preview_url=self._preview_url(obj),
                revisions_url=self._admin_url("revisions", obj.pk),
                revision_count=obj.revisions.count(),
                recent_revisions=[
                    (r, self._admin_url("revision_compare", obj.pk, r.pk)) for r in recent
                ],
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # The list.
    @admin.display(description="Title", ordering="title")
    def title_column(self, obj):
        """The title (indented by its depth for pages), linked, with WordPress's row actions."""
        depth = obj.path.count("/") if obj.is_page else 0
        edit = self._admin_url("change", obj.pk)
        links = [(edit, "Edit")]
        url, label = self.view_on_site(obj), "View"
        if url is None:
            url, label = self._preview_url(obj), "Preview"
        if url:
            links.append((url, label))
        if obj.status != _TRASH:
            links.append((self._admin_url("delete", obj.pk), "Trash"))
        # WordPress names a post's state after its title unless it is simply published.
        state = "" if obj.display_status == Post.Status.PUBLISHED.label else obj.display_status
        return format_html(
            '<strong class="desk-title"><a href="{}">{}{}</a>{}</strong>{}',
            edit,
            "— " * depth,
            obj.title or "(no title)",
            format_html('<span class="desk-post-state"> — {}</span>', state) if state else "",
            row_actions(links=links),
        )

    @admin.display(description="Status", ordering="status")
    def display_status(self, obj):
        return obj.display_status

    @admin.display(description="Date", ordering="published_at")
    def date(self, obj):
        when = obj.published_at or obj.created_at
        return date_format(timezone.localtime(when), "SHORT_DATE_FORMAT")

    @admin.display(description="Comments", ordering="comment_count")
    def comments(self, obj):
        return obj.comment_count

    # Deleting moves to the Trash; the Trash is emptied by `empty_trash`, not here.
    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_delete_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST":
            services.post_trash(post=obj, by=request.user)
            self.log_change(request, obj, "Moved to the Trash.")
            self.message_user(request, f"“{obj}” was moved to the Trash.", messages.SUCCESS)
            return redirect(self._admin_url("changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Move to the Trash?",
            "subtitle": str(obj),
            "object": obj,
            "opts": self.opts,
            "change_url": self._admin_url("change", obj.pk),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/blog/post/trash_confirmation.html", context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Publish selected")
    def publish(self, request, queryset):
        _run_per_object(self, request, queryset, services.post_publish, "Published")

    @admin.action(description="Move selected to the Trash")
    def trash(self, request, queryset):
        _run_per_object(self, request, queryset, services.post_trash, "Moved to the Trash:")

    @admin.action(description="Restore selected from the Trash")
    def restore(self, request, queryset):
        _run_per_object(self, request, queryset, services.post_restore, "Restored")

    actions = ("publish", "trash", "restore")


@admin.register(Post)
class PostAdmin(_ContentAdmin):
    class Media:
        css = {"all": ("desk/lists.css",)}

    list_display = (
        "title_column", "author", "display_status", "category_list", "date", "comments",
    )  # fmt: skip
    list_display_links = None  # the title links itself, its row actions beside it
    filter_horizontal = ("categories", "tags")
    fieldsets = (
        (None, {"fields": ("title", "slug", "body", "body_format", "excerpt")}),
        ("Publish", {"fields": (*PUBLISH_FIELDS, "sticky", "comment_status", "password")}),
        ("Categories and tags", {"fields": ("categories", "tags", "featured_image")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    def get_list_filter(self, request):
        by_author = ("author",) if self._sees_all(request.user) else ()
        return (StatusFilter, *by_author, "categories", "sticky")

    @admin.display(description="Categories")
    def category_list(self, obj):
        return ", ".join(category.name for category in obj.categories.all())


@admin.register(Page)
class PageAdmin(_ContentAdmin):
    class Media:
        css = {"all": ("desk/lists.css",)}

    kind = Post.Kind.PAGE
    # WordPress's Pages screen: the tree in order (parents before their children, by path),
    # each page indented by its depth, with its status, date and author.
    list_display = ("title_column", "author", "display_status", "date")
    list_display_links = None  # the title links itself, its row actions beside it
    ordering = ("path", "menu_order", "pk")
    # Posts have none: its MIN/MAX and DISTINCT years read every post on every view
    # (0.9 s at 100,000 posts, measured); the public date archives stand in for it.
    date_hierarchy = "published_at"
    fieldsets = (
        (None, {"fields": ("title", "slug", "body", "body_format", "excerpt")}),
        ("Publish", {"fields": (*PUBLISH_FIELDS, "comment_status", "password")}),
        ("Page attributes", {"fields": ("parent", "menu_order", "featured_image")}),
    )

    def _sees_all(self, user) -> bool:
        return user.has_perm("blog.change_page")

    def get_list_filter(self, request):
        return (StatusFilter, "author")


# --- Taxonomy -----------------------------------------------------


class CategoryForm(forms.ModelForm):
    def clean_parent(self):
        parent = self.cleaned_data["parent"]
        if services.category_is_own_ancestor(self.instance, parent):
            raise ValidationError("A category cannot be its own ancestor.")
        return parent


class _TaxonomyMixin:
    """Post counts in the list; writes go through the taxonomy services (blog/services/)."""

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(post_count=Count("posts"))

    def delete_model(self, request, obj):
        self.delete_queryset(request, [obj])

    @admin.display(description="Posts", ordering="post_count")
    def post_count(self, obj):
        return obj.post_count


@admin.register(Category)
class CategoryAdmin(_TaxonomyMixin, admin.ModelAdmin):
    form = CategoryForm
    list_display = ("name", "slug", "parent", "post_count")
    list_select_related = ("parent",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        services.category_save(category=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        services.category_delete(categories=queryset, by=request.user)


@admin.register(Tag)
class TagAdmin(_TaxonomyMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "post_count")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        services.tag_save(tag=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        services.tag_delete(tags=queryset, by=request.user)


# Comments, users and roles, and the site's settings, live in their own modules;
# importing them registers them.
from blog import admin_comments, admin_site_settings, admin_users  # noqa: E402, F401
