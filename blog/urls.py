from django.contrib.auth import views as auth_views
from django.urls import path, register_converter, reverse_lazy

from blog import feeds, views
from blog.sitemaps import sitemap_section_xml, sitemap_xml


class _TwoDigits:
    regex = "[0-9]{2}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{int(value):02d}"


class _Year:
    regex = "[0-9]{4}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return f"{int(value):04d}"


register_converter(_TwoDigits, "mm")
register_converter(_Year, "yyyy")

app_name = "blog"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("preview/<int:pk>/", views.preview, name="preview"),
    path("posts/<int:pk>/unlock/", views.post_unlock, name="post-unlock"),
    path("posts/<int:pk>/comments/", views.comment_post, name="comment-post"),
    # Feeds: RSS 2.0 at feed/, Atom at feed/atom/, as WordPress serves them.
    path("feed/", feeds.PostsFeed(), name="feed"),
    path("feed/atom/", feeds.PostsAtomFeed(), name="feed-atom"),
    path("comments/feed/", feeds.CommentsFeed(), name="comments-feed"),
    path("comments/feed/atom/", feeds.CommentsAtomFeed(), name="comments-feed-atom"),
    path("category/<str:slug>/", views.category, name="category"),
    path("category/<str:slug>/feed/", feeds.CategoryFeed(), name="category-feed"),
    path("category/<str:slug>/feed/atom/", feeds.CategoryAtomFeed(), name="category-feed-atom"),
    path("tag/<str:slug>/", views.tag, name="tag"),
    path("tag/<str:slug>/feed/", feeds.TagFeed(), name="tag-feed"),
    path("tag/<str:slug>/feed/atom/", feeds.TagAtomFeed(), name="tag-feed-atom"),
    path("author/<str:username>/", views.author, name="author"),
    path("author/<str:username>/feed/", feeds.AuthorFeed(), name="author-feed"),
    path("author/<str:username>/feed/atom/", feeds.AuthorAtomFeed(), name="author-feed-atom"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", views.profile, name="profile"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="blog/password_change_form.html",
            success_url=reverse_lazy("blog:password-change-done"),
        ),
        name="password-change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="blog/password_change_done.html"),
        name="password-change-done",
    ),
    path("<yyyy:year>/", views.archive, name="archive-year"),
    path("<yyyy:year>/<mm:month>/", views.archive, name="archive-month"),
    path("<yyyy:year>/<mm:month>/<mm:day>/", views.archive, name="archive-day"),
    path("<yyyy:year>/<mm:month>/<str:slug>/", views.post_detail, name="post-detail"),
    # Pages last: their hierarchical path would otherwise shadow everything above.
    path("<path:path>/", views.page_detail, name="page"),
]

# Outside the app namespace: Django's sitemap machinery expects these names.
root_urlpatterns = [
    path("sitemap.xml", sitemap_xml, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemap_section_xml, name="sitemap-section"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("favicon.ico", views.favicon_ico, name="favicon"),
]
