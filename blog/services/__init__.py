"""Actions with rules: every write the admin, the site or a command makes goes through here.

Permissions are enforced here as well as in the admin, so a forged POST that gets
past a form still meets the same rule. Functions are keyword-only and named
noun_verb; they raise PermissionDenied for "not allowed" and ValidationError for
"not valid", and change nothing when they raise. Side effects (the page cache, tasks)
are called from here, after commit, and from nowhere else.

One module per subject; this package's namespace is the door the callers use
(`services.post_write(...)`).
"""

from blog.services.comments import (
    CommentRefused,
    comment_admit,
    comment_delete,
    comment_import,
    comment_import_threads,
    comment_rate_limited,
    comment_reimport,
    comment_set_status,
    comment_submit,
    comment_update,
    post_recount_comments,
)
from blog.services.editing import (
    autosave_discard,
    autosave_pending,
    autosave_write,
    post_autodraft,
    post_lock_holder,
    post_lock_release,
    post_lock_take,
)
from blog.services.imports import post_import_many
from blog.services.permissions import (
    post_allowed_statuses,
    post_can_create,
    post_can_delete,
    post_can_edit,
    post_can_publish,
    post_can_read,
)
from blog.services.posts import (
    post_check,
    post_delete,
    post_import,
    post_publish,
    post_restore,
    post_trash,
    post_write,
    reserved_slugs,
    revision_restore,
    trash_empty,
)
from blog.services.search import (
    SearchResults,
    post_search,
    search_entries_rebuild,
    search_entries_refresh,
    search_filter,
)
from blog.services.site import site_settings_can_manage, site_settings_update
from blog.services.taxonomy import (
    category_delete,
    category_is_own_ancestor,
    category_save,
    tag_delete,
    tag_save,
)
from blog.services.users import user_role_check, user_set_role, user_update_profile

__all__ = [
    "CommentRefused",
    "SearchResults",
    "autosave_discard",
    "autosave_pending",
    "autosave_write",
    "category_delete",
    "category_is_own_ancestor",
    "category_save",
    "comment_admit",
    "comment_delete",
    "comment_import",
    "comment_import_threads",
    "comment_rate_limited",
    "comment_reimport",
    "comment_set_status",
    "comment_submit",
    "comment_update",
    "post_allowed_statuses",
    "post_autodraft",
    "post_can_create",
    "post_can_delete",
    "post_can_edit",
    "post_can_publish",
    "post_can_read",
    "post_check",
    "post_delete",
    "post_import",
    "post_import_many",
    "post_lock_holder",
    "post_lock_release",
    "post_lock_take",
    "post_publish",
    "post_recount_comments",
    "post_restore",
    "post_search",
    "post_trash",
    "post_write",
    "reserved_slugs",
    "revision_restore",
    "search_entries_rebuild",
    "search_entries_refresh",
    "search_filter",
    "site_settings_can_manage",
    "site_settings_update",
    "tag_delete",
    "tag_save",
    "trash_empty",
    "user_role_check",
    "user_set_role",
    "user_update_profile",
]
