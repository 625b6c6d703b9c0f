"""Small factories: people by role, posts, pages, comments."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from blog import roles
from blog.models import Category, Comment, Post, Tag
from blog.rendering import render_comment, render_post_body
from blog.services import search_entries_refresh

PASSWORD = "correct-horse-battery-staple"
_seq = itertools.count(1)


def make_user(role: str | None = roles.SUBSCRIBER, username: str | None = None, **fields):
    User = get_user_model()
    username = username or f"user{next(_seq)}"
    user = User.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **fields
    )
    if role:
        if not Group.objects.filter(name=role).exists():
            # Transactional tests flush the tables, and with them the migration's groups.
            roles.sync_roles()
        user.groups.add(Group.objects.get(name=role))
    user.is_staff = role in roles.STAFF_ROLES
    user.save(update_fields=["is_staff"])
    return user


def make_category(name: str | None = None, parent: Category | None = None) -> Category:
    n = next(_seq)
    name = name or f"Category {n}"
    return Category.objects.create(name=name, slug=f"category-{n}", parent=parent)


def make_tag(name: str | None = None) -> Tag:
    n = next(_seq)
    return Tag.objects.create(name=name or f"Tag {n}", slug=f"tag-{n}")


def make_post(author, **fields) -> Post:
    n = next(_seq)
    fields.setdefault("title", f"Post number {n}")
    fields.setdefault("slug", f"post-number-{n}")
    fields.setdefault("body", f"Body of post {n}.\n\nSecond paragraph.")
    fields.setdefault("status", Post.Status.PUBLISHED)
    if fields["status"] in (Post.Status.PUBLISHED, Post.Status.PRIVATE):
        fields.setdefault("published_at", timezone.now() - timedelta(hours=1))
    categories = fields.pop("categories", [])
    tags = fields.pop("tags", [])
    post = Post(author=author, **fields)
    post.body_html = render_post_body(post.body, post.body_format, allow_embeds=False)
    if post.kind == Post.Kind.PAGE:
        post.path = f"{post.parent.path}/{post.slug}" if post.parent else post.slug
    post.save()
    post.categories.set(categories)
    post.tags.set(tags)
    # As every post service does: the search index follows the post.
    search_entries_refresh(post_ids=[post.pk])
    return post


def make_page(author, **fields) -> Post:
    return make_post(author, kind=Post.Kind.PAGE, **fields)


def make_comment(post: Post, **fields) -> Comment:
    n = next(_seq)
    fields.setdefault("author_name", f"Reader {n}")
    fields.setdefault("author_email", f"reader{n}@example.com")
    fields.setdefault("body", f"Comment {n}")
    fields.setdefault("status", Comment.Status.APPROVED)
    comment = Comment(post=post, body_html=render_comment(fields["body"]), **fields)
    comment.save()
    if comment.status == Comment.Status.APPROVED:
        Post.objects.filter(pk=post.pk).update(comment_count=post.comments.approved().count())
    return comment
