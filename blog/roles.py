"""WordPress roles as Django groups.

The groups are created by a data migration from ROLE_PERMISSIONS; re-running
`sync_roles` (from a later migration or `manage.py sync_roles`) brings them back
in line when the table changes. Services check the permissions, not the group
names, so a site may grant one capability to one user without a new role.
"""

from __future__ import annotations

ADMINISTRATOR = "Administrator"
EDITOR = "Editor"
AUTHOR = "Author"
CONTRIBUTOR = "Contributor"
SUBSCRIBER = "Subscriber"

# Highest first: a user in several groups has the highest one.
ROLES = (ADMINISTRATOR, EDITOR, AUTHOR, CONTRIBUTOR, SUBSCRIBER)
STAFF_ROLES = (ADMINISTRATOR, EDITOR, AUTHOR, CONTRIBUTOR)

_CONTRIBUTOR = {
    "blog.view_post", "blog.add_post", "blog.change_post", "blog.delete_post",
    "blog.view_category", "blog.view_tag", "blog.add_tag",
    "blog.view_revision",
}  # fmt: skip
_AUTHOR = _CONTRIBUTOR | {
    "blog.publish_post", "blog.edit_published_posts",
    "media_library.view_mediaitem", "media_library.add_mediaitem",
    "media_library.change_mediaitem", "media_library.delete_mediaitem",
}  # fmt: skip
_EDITOR = _AUTHOR | {
    "blog.edit_others_posts", "blog.read_private_posts", "blog.unfiltered_html",
    "blog.view_page", "blog.add_page", "blog.change_page", "blog.delete_page",
    "blog.add_category", "blog.change_category", "blog.delete_category",
    "blog.change_tag", "blog.delete_tag",
    "blog.view_comment", "blog.change_comment", "blog.delete_comment",
    "blog.moderate_comments",
}  # fmt: skip

# None means every permission that exists (Administrator manages users too).
ROLE_PERMISSIONS: dict[str, set[str] | None] = {
    ADMINISTRATOR: None,
    EDITOR: _EDITOR,
    AUTHOR: _AUTHOR,
    CONTRIBUTOR: _CONTRIBUTOR,
    SUBSCRIBER: set(),
}


def sync_roles(apps=None, *, missing_ok: bool = False) -> None:
    """Create or update the role groups. `apps` is given inside migrations.

    Permissions the table names must exist, unless `missing_ok`: what the migrations
    written before an app moved pass, since at their point in history the moved app's
    permissions did not exist yet (blog 0007 syncs again, strictly, once they do).
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    everything = list(Permission.objects.all())
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in everything}
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        if wanted is None:
            group.permissions.set(everything)
            continue
        missing = wanted - by_name.keys()
        if missing and not missing_ok:
            raise LookupError(f"role {role} names unknown permissions: {sorted(missing)}")
        group.permissions.set([by_name[name] for name in wanted if name in by_name])


def user_role(user) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMINISTRATOR
    names = {group.name for group in user.groups.all()}
    return next((role for role in ROLES if role in names), None)
