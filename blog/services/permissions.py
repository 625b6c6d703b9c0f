"""Who may do what to a post or page: WordPress's capabilities, asked by every service,
the admin and the public views, so a forged POST meets the same rule as the form."""

from __future__ import annotations

from blog.models import Post

PUBLIC_STATUSES = (Post.Status.PUBLISHED, Post.Status.FUTURE, Post.Status.PRIVATE)


def post_can_create(*, user, kind: str) -> bool:
    if kind == Post.Kind.PAGE:
        return user.has_perm("blog.add_page")
    return user.has_perm("blog.add_post")


def post_can_edit(*, user, post: Post) -> bool:
    """May `user` change `post` as it is stored now?"""
    # Editing happens in the admin, which only staff reach: a reader's question is
    # answered without loading their permissions (two queries on every post page).
    if not user.is_authenticated or not user.is_staff:
        return False
    if post.is_page:
        return user.has_perm("blog.change_page")
    if not user.has_perm("blog.change_post"):
        return False
    if post.author_id != user.pk and not user.has_perm("blog.edit_others_posts"):
        return False
    if post.status in PUBLIC_STATUSES and not user.has_perm("blog.edit_published_posts"):
        return False
    return True


def post_can_delete(*, user, post: Post) -> bool:
    perm = "blog.delete_page" if post.is_page else "blog.delete_post"
    return user.has_perm(perm) and post_can_edit(user=user, post=post)


def post_can_publish(*, user, post: Post) -> bool:
    if post.is_page:
        return user.has_perm("blog.change_page")
    if not user.has_perm("blog.publish_post"):
        return False
    return post.author_id in (None, user.pk) or user.has_perm("blog.edit_others_posts")


def post_can_read(*, user, post: Post) -> bool:
    """Can `user` open this post by its URL (drafts and previews included)?"""
    if post.status == Post.Status.TRASH:
        return False
    if post.is_public:
        return True
    if post.status == Post.Status.PRIVATE and user.is_authenticated:
        if post.author_id == user.pk or user.has_perm("blog.read_private_posts"):
            return True
    return post_can_edit(user=user, post=post)


def post_allowed_statuses(*, user, post: Post) -> list[str]:
    """The statuses `user` may give `post` from the editor (trash has its own action)."""
    if post_can_publish(user=user, post=post):
        return [s for s in Post.Status.values if s != Post.Status.TRASH]
    return [Post.Status.DRAFT, Post.Status.PENDING]
