"""The demo site a newcomer sees after `make run`: people, categories, tags, posts, pages, comments.

Posts and pages go through `services.post_write`, so slugs, rendering and revisions
are what the admin would make. A fixed seed makes every run build the same site;
only the dates move, since they are relative to now.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from blog import roles, services
from blog.models import Category, Comment, Post, Tag
from blog.rendering import render_comment

SEED = 1729
DEFAULT_POSTS = 32
# Printed by seed_demo: a demo password protects nothing.
PROTECTED_PASSWORD = "open-sesame"  # noqa: S105
HISTORY_DAYS = 240

# username, first name, last name, role
PEOPLE = [
    ("eleanor", "Eleanor", "Vance", roles.EDITOR),
    ("sam", "Sam", "Okafor", roles.AUTHOR),
    ("mira", "Mira", "Lindqvist", roles.AUTHOR),
]

# slug, name, parent slug, description (parents come before their children)
CATEGORIES = [
    ("engineering", "Engineering", None, "How this blog is built, tested and run."),
    ("python", "Python", "engineering", "The language, its tools and its habits."),
    ("databases", "Databases", "engineering", "MariaDB, MySQL, SQLite and the queries between."),
    ("cloud", "Cloud", "engineering", "Running a web site on rented computers."),
    ("aws", "AWS", "cloud", "Load balancers, Aurora, EFS and the bills that follow."),
    ("writing", "Writing", None, "Notes on writing for the web."),
    ("tutorials", "Tutorials", "writing", "Step-by-step guides you can follow along."),
    ("travel", "Travel", None, "Conference trips and the places around them."),
    ("news", "Site news", None, "What changed on this site."),
]

TAGS = [
    "Python", "Django", "MariaDB", "Redis", "AWS", "Markdown", "Performance", "Security",
    "Testing", "CSS", "DevOps",
]  # fmt: skip

# title, category slug, tag names, one-line summary used as the opening paragraph
TOPICS = [
    ("Welcome to cloudblog", "news", ("Django", "Markdown"),
     "This is a demo site: every post, page and comment here was made by `seed_demo`."),
    ("Why our web tier keeps no state", "aws", ("AWS", "Redis", "DevOps"),
     "Any instance can serve any request, because nothing lives in one instance's memory."),
    ("Sessions in Redis, with the database behind them", "databases", ("Redis", "Django"),
     "The cached_db session store gives us Redis speed without losing logins on a restart."),
    ("A gentle introduction to Markdown", "tutorials", ("Markdown",),
     "Markdown lets you write structured text that still reads well as plain text."),
    ("Ten things I learned migrating from WordPress", "writing", ("Django", "Markdown"),
     "An export file, an importer and a weekend: here is what surprised me."),
    ("Choosing a primary key type", "databases", ("MariaDB", "Performance"),
     "Big integers are boring, and boring is what you want from a key."),
    ("Notes from DjangoCon Europe", "travel", ("Django", "Python"),
     "Three days of talks, a sprint day and a lot of coffee."),
    ("Testing against a real database", "python", ("Testing", "MariaDB", "Django"),
     "SQLite in tests hides the bugs that MariaDB will show you in production."),
    ("Golden images, explained", "aws", ("AWS", "DevOps"),
     "Bake once, boot many: why every instance starts from the same image."),
    ("Caching the home page without lying to editors", "python", ("Redis", "Performance"),
     "Anonymous visitors get the cached page; editors always see the truth."),
    ("Read replicas and read-your-writes", "databases", ("MariaDB", "AWS", "Performance"),
     "A reader endpoint takes load off the writer, if you pin the users who just wrote."),
    ("Writing headlines people click honestly", "writing", (),
     "A good headline promises exactly what the post delivers."),
    ("Responsive images in five minutes", "tutorials", ("CSS", "Performance"),
     "srcset and sizes let the browser pick the right file for the screen."),
    ("A week in Lisbon", "travel", (),
     "Trams, tiles and a conference by the river."),
    ("Type hints that earn their keep", "python", ("Python",),
     "Annotate the edges of a module and let the middle breathe."),
    ("What the trash is for", "news", ("Django",),
     "Deleted posts wait thirty days in the trash before they are gone for good."),
    ("Scheduling posts without cron", "python", ("Django",),
     "A scheduled post is just a published post whose time has not come yet."),
    ("Security headers, one at a time", "engineering", ("Security", "Django"),
     "HSTS, nosniff, frame options and a referrer policy, with the reasons for each."),
    ("Backups you have actually restored", "cloud", ("AWS", "DevOps", "MariaDB"),
     "A backup nobody has restored is a hope, not a backup."),
    ("Comment moderation the WordPress way", "news", ("Security",),
     "First comments wait for approval; people you have approved before go straight in."),
    ("Profiling a slow admin page", "python", ("Django", "Performance"),
     "Twelve hundred queries became nine, and here is how."),
    ("A tour of our CSS", "engineering", ("CSS",),
     "One stylesheet, no build step, and a dark mode that follows the system."),
    ("Rate limiting across many instances", "cloud", ("Redis", "Security"),
     "A per-process counter lets a spammer through N times; a shared one does not."),
    ("Writing a README people read", "writing", ("Markdown",),
     "Start with the two commands; everything else can wait."),
    ("Uploading images to shared storage", "aws", ("AWS",),
     "Every upload lands on the shared store before the response goes out."),
    ("Hiking above Innsbruck", "travel", (),
     "A cable car up, a long walk down and a view worth both."),
    ("Structuring a Django project in 2025", "python", ("Django", "Python"),
     "One app, a services module and settings read from the environment."),
    ("How we run migrations on release", "databases", ("MariaDB", "DevOps"),
     "Once per release, under a lock, before the new instances take traffic."),
    ("Tables in Markdown", "tutorials", ("Markdown",),
     "Pipes and dashes are all it takes to lay out a small table."),
    ("What a load balancer health check should ask", "cloud", ("AWS", "DevOps"),
     "Is this process alive, and can it reach what it needs? Nothing more."),
    ("Sanitizing HTML from authors", "engineering", ("Security", "Python"),
     "Allow a list of tags and attributes, and drop everything else."),
    ("Site news: feeds and sitemaps", "news", ("Django",),
     "RSS, Atom and a sitemap are live, so readers and search engines can follow along."),
]  # fmt: skip

LINKS = [
    ("the Django documentation", "https://docs.djangoproject.com/en/5.2/"),
    ("the CommonMark spec", "https://spec.commonmark.org/"),
    ("MariaDB's knowledge base", "https://mariadb.com/kb/en/"),
    ("the Redis docs", "https://redis.io/docs/"),
    ("the Python tutorial", "https://docs.python.org/3/tutorial/"),
    ("MDN on responsive images", "https://developer.mozilla.org/en-US/docs/Web/HTML/Responsive_images"),
]  # fmt: skip

CODE = [
    ("python", 'def post_publish(*, post, by):\n    """Publish now, or schedule."""\n'
               "    post.status = Post.Status.PUBLISHED\n    post.save()\n    return post"),
    ("sql", "SELECT status, COUNT(*) AS n\n  FROM blog_post\n WHERE kind = 'post'\n"
            " GROUP BY status\n ORDER BY n DESC;"),
    ("bash", "git clone https://example.com/cloudblog.git\ncd cloudblog\nmake run"),
    ("yaml", "#cloud-config\nwrite_files:\n  - path: /etc/cloudblog/env\n"
             "    content: |\n      DJANGO_DEBUG=false"),
    ("python", "from django.core.cache import cache\n\n"
               "def home_html():\n    return cache.get_or_set('home', render_home, 60)"),
]  # fmt: skip

TABLES = [
    "| Store | Survives a restart | Shared by instances |\n|---|---|---|\n"
    "| `db` | yes | yes |\n| `cached_db` | yes | yes |\n| `cache` | no | yes |\n"
    "| `signed_cookies` | yes | yes |",
    "| Page | Queries before | Queries after |\n|---|---:|---:|\n"
    "| Home | 42 | 6 |\n| Archive | 118 | 7 |\n| Admin post list | 1203 | 9 |",
    "| Role | Write | Publish | Moderate |\n|---|:---:|:---:|:---:|\n"
    "| Contributor | yes | no | no |\n| Author | yes | yes | no |\n"
    "| Editor | yes | yes | yes |",
]  # fmt: skip

HEADINGS = [
    "Why it matters", "How it works", "What we tried first", "The short version",
    "Trade-offs", "Next steps", "A worked example", "What I would do differently",
]  # fmt: skip

BULLETS = [
    "keep the change small", "measure before and after", "write the test first",
    "read the error message twice", "name things for what they do", "delete dead code",
    "ask a colleague to review it", "write down why, not what",
]  # fmt: skip

READERS = [
    ("Priya Raman", "priya@example.com"), ("Tom Becker", "tom@example.com"),
    ("Lucía Ortega", "lucia@example.com"), ("Kenji Mori", "kenji@example.com"),
    ("Ada Byrne", "ada.byrne@example.com"), ("Yusuf Demir", "yusuf@example.com"),
]  # fmt: skip

REMARKS = [
    "Great write-up, thanks! The table alone saved me an afternoon.",
    "We hit exactly this last month. Wish I had read this first.",
    "Could you say more about how this behaves under load?",
    "Bookmarked. The example is much clearer than the official docs.",
    "I tried this on our staging site and it *just worked*.",
    "Nice. Do you have numbers from before the change?",
]  # fmt: skip

REPLIES = [
    "Thanks! I will add numbers in a follow-up post.",
    "Same here: the second step is the one everybody forgets.",
    "Good question. In short: it degrades gracefully, and the cache absorbs the rest.",
    "Agreed, although I would keep the default for small sites.",
    "Ha, that is exactly what happened to us too.",
]  # fmt: skip


@dataclass
class Summary:
    users: int = 0
    categories: int = 0
    tags: int = 0
    published: int = 0
    sticky: int = 0
    scheduled: int = 0
    drafts: int = 0
    private: int = 0
    pages: int = 0
    comments: int = 0
    pending: int = 0
    protected_title: str = ""
    protected_password: str = PROTECTED_PASSWORD

    @property
    def posts(self) -> int:
        return self.published + self.scheduled + self.drafts + self.private

    def line(self) -> str:
        return (
            f"Created the demo site: {self.posts} posts ({self.published} published, "
            f"{self.sticky} sticky, {self.scheduled} scheduled, {self.drafts} draft, "
            f"{self.private} private), {self.pages} pages, {self.categories} categories, "
            f"{self.tags} tags, {self.users} users, {self.comments} comments "
            f"({self.pending} pending)."
        )


# --- Bodies -------------------------------------------------------------------


def _section(rng: random.Random, kind: str, heading: str) -> str:
    heading = f"## {heading}"
    if kind == "list":
        items = rng.sample(BULLETS, 4)
        if rng.random() < 0.5:
            return heading + "\n\n" + "\n".join(f"- {item.capitalize()}." for item in items)
        return (
            heading + "\n\n" + "\n".join(f"{n}. {i.capitalize()}." for n, i in enumerate(items, 1))
        )
    if kind == "code":
        language, code = rng.choice(CODE)
        return f"{heading}\n\nHere is the gist of it:\n\n```{language}\n{code}\n```"
    if kind == "table":
        return f"{heading}\n\nThe numbers, side by side:\n\n{rng.choice(TABLES)}"
    if kind == "quote":
        return f"{heading}\n\n> Make it work, make it right, make it fast.\n>\n> — Kent Beck"
    label, url = rng.choice(LINKS)
    return (
        f"{heading}\n\nFor the details, see [{label}]({url}). The short version: "
        "**start simple**, keep a note of what you changed, and _measure_ before you "
        "optimize anything.\n\n### In practice\n\nMost of the time the simple answer is "
        "also the right one."
    )


def _post_body(rng: random.Random, summary: str, index: int) -> str:
    # Rotate the first section so that every kind appears within the first few posts.
    kinds = ["list", "code", "table", "links", "quote"]
    first = kinds[index % len(kinds)]
    rest = rng.sample([k for k in kinds if k != first], rng.randint(1, 3))
    chosen = [first, *rest]
    headings = rng.sample(HEADINGS, len(chosen))
    sections = [_section(rng, k, h) for k, h in zip(chosen, headings, strict=True)]
    return "\n\n".join([summary, *sections, "Thanks for reading!"])


WELCOME_BODY = """\
This is a demo site: every post, page and comment here was made by `seed_demo`.

## Where to start

1. Sign in to the [admin](/admin/) with the account `make run` printed.
2. Write a post under **Blog → Posts**, or edit this one.
3. Moderate the comment waiting for approval.

## What you can write

Posts are Markdown: headings, lists, `code`, tables and [links](https://commonmark.org/).

```python
print("Hello, cloudblog!")
```

| You type | You get |
|---|---|
| `**bold**` | **bold** |
| `_italic_` | _italic_ |
"""

PAGES = [
    # slug, title, parent slug, menu order, body
    ("about", "About", None, 1,
     "cloudblog is a small, fast blog platform.\n\n## Who writes here\n\n"
     "A handful of engineers who like boring technology.\n\n"
     "Meet them on [the team](/about/the-team/) page."),
    ("contact", "Contact", None, 2,
     "Write to us at [hello@example.com](mailto:hello@example.com).\n\n"
     "- Press: press@example.com\n- Security reports: security@example.com"),
    ("the-team", "The team", "about", 1,
     "## Eleanor Vance\n\nEditor; reads every post twice.\n\n## Sam Okafor\n\n"
     "Writes about databases.\n\n## Mira Lindqvist\n\nWrites about the cloud, and travels."),
]  # fmt: skip


# --- Building -----------------------------------------------------------------


def _people() -> dict:
    User = get_user_model()
    people = {}
    for username, first, last, role in PEOPLE:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            # Bylines only: nobody signs in as a demo person.
            user.set_unusable_password()
            user.is_staff = True
            user.save(update_fields=["password", "is_staff"])
            user.groups.add(Group.objects.get(name=role))
        people[username] = user
    return people


def _categories() -> dict[str, Category]:
    found: dict[str, Category] = {}
    for slug, name, parent, description in CATEGORIES:
        found[slug], _ = Category.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "description": description, "parent": found.get(parent)},
        )
    return found


def _tags() -> dict[str, Tag]:
    get = Tag.objects.get_or_create
    return {name: get(slug=name.lower(), defaults={"name": name})[0] for name in TAGS}


def _save(by, **fields) -> Post:
    categories = fields.pop("categories", [])
    tags = fields.pop("tags", [])
    post = services.post_write(post=Post(**fields), by=by)
    post.categories.set(categories)
    post.tags.set(tags)
    return post


def _comment(
    post: Post,
    parent: Comment | None,
    when,
    rng: random.Random,
    *,
    text: str,
    status: str = Comment.Status.APPROVED,
    user=None,
    reader: tuple[str, str] | None = None,
) -> Comment:
    if user is not None:
        name, email = user.get_full_name() or user.get_username(), user.email
    else:
        name, email = reader or rng.choice(READERS)
    return Comment.objects.create(
        post=post,
        parent=parent,
        user=user,
        author_name=name,
        author_email=email,
        body=text,
        body_html=render_comment(text),
        status=status,
        created_at=when,
    )


def _thread(post: Post, rng: random.Random, depth: int) -> int:
    """One top-level comment with a reply chain `depth` deep, plus a stray reply or two."""
    when = post.published_at + timedelta(hours=rng.randint(1, 5))
    root = node = _comment(post, None, when, rng, text=rng.choice(REMARKS))
    made = 1
    for level in range(2, depth + 1):
        when += timedelta(minutes=rng.randint(20, 240))
        by_author = level % 2 == 0
        node = _comment(
            post, node, when, rng, text=rng.choice(REPLIES), user=post.author if by_author else None
        )
        made += 1
    for _ in range(rng.randint(0, 2)):
        when += timedelta(minutes=rng.randint(20, 240))
        _comment(post, root, when, rng, text=rng.choice(REPLIES))
        made += 1
    return made


def content_count() -> tuple[int, int]:
    """How many posts and pages the site has; the demo goes only into an empty site."""
    return Post.objects.posts().count(), Post.objects.pages().count()


@transaction.atomic
def seed(*, posts: int = DEFAULT_POSTS, now=None) -> Summary:
    """Build the demo site: `posts` published posts plus a scheduled, a draft and a private one."""
    rng = random.Random(SEED)
    now = now or timezone.now()
    people = _people()
    editor = people["eleanor"]
    authors = [people["sam"], people["mira"]]
    categories = _categories()
    tags = _tags()
    summary = Summary(users=len(people), categories=len(categories), tags=len(tags))

    # Oldest first, spread over the last HISTORY_DAYS, the newest two days ago.
    span = timedelta(days=HISTORY_DAYS - 2)
    published: list[Post] = []
    for i in range(posts):
        title, category, tag_names, opening = TOPICS[(posts - 1 - i) % len(TOPICS)]
        lap = (posts - 1 - i) // len(TOPICS)
        if lap:
            title = f"{title} (part {lap + 1})"
        when = now - timedelta(days=2) - span * (posts - 1 - i) / max(posts - 1, 1)
        when -= timedelta(minutes=rng.randint(0, 600))
        is_welcome = i == posts - 1
        fields = {
            "title": title,
            "body": WELCOME_BODY if is_welcome else _post_body(rng, opening, i),
            "excerpt": opening.replace("`", ""),
            "author": editor if is_welcome else authors[i % len(authors)],
            "status": Post.Status.PUBLISHED,
            "published_at": when,
            "created_at": when - timedelta(hours=rng.randint(1, 48)),
            "sticky": is_welcome or i == posts // 2,
            "categories": [categories[category]],
            "tags": [tags[name] for name in tag_names],
        }
        if i == posts // 3 and not is_welcome:
            fields["title"] = f"Members only: {title}"
            fields["password"] = PROTECTED_PASSWORD
            summary.protected_title = fields["title"]
        published.append(_save(editor, **fields))
    summary.published = len(published)
    summary.sticky = sum(p.sticky for p in published)

    _save(
        editor,
        title="Coming soon: a roadmap for the next release",
        body="## What is next\n\n- Image renditions\n- WordPress import\n- A dark theme",
        author=authors[0],
        status=Post.Status.PUBLISHED,
        published_at=now + timedelta(days=7),
        categories=[categories["news"]],
    )
    _save(
        editor,
        title="Draft: caching notes",
        body="Half an idea about *cache stampedes*.\n\n- [ ] finish this",
        author=authors[1],
        status=Post.Status.DRAFT,
        categories=[categories["python"]],
        tags=[tags["Redis"]],
    )
    _save(
        editor,
        title="Private: editorial calendar",
        body="| Month | Theme |\n|---|---|\n| June | Databases |\n| July | Travel |",
        author=editor,
        status=Post.Status.PRIVATE,
        published_at=now - timedelta(days=10),
        categories=[categories["news"]],
    )
    summary.scheduled = summary.drafts = summary.private = 1

    pages: dict[str, Post] = {}
    for slug, title, parent, order, body in PAGES:
        pages[slug] = _save(
            editor,
            kind=Post.Kind.PAGE,
            title=title,
            slug=slug,
            body=body,
            author=editor,
            parent=pages.get(parent),
            menu_order=order,
            status=Post.Status.PUBLISHED,
            published_at=now - timedelta(days=HISTORY_DAYS),
        )
    summary.pages = len(pages)

    # Threads on the newest open posts; the first two go three and four levels deep.
    open_posts = [p for p in reversed(published) if not p.password][:10]
    for n, post in enumerate(open_posts):
        summary.comments += _thread(post, rng, depth=(4, 3)[n] if n < 2 else rng.randint(1, 3))
    if open_posts:
        welcome = open_posts[0]
        _comment(
            welcome,
            None,
            welcome.published_at + timedelta(days=1),
            rng,
            text="First time here! My own notes on this: https://notes.example.com/cloudblog",
            status=Comment.Status.PENDING,
            reader=("New Reader", "new.reader@example.com"),
        )
        summary.comments += 1
        summary.pending = 1
    services.post_recount_comments(post_ids=[p.pk for p in open_posts])
    return summary
