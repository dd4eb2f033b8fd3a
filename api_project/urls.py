"""Root URLs: the API under /api/, its schema and docs, the admin; outside /api the feeds, the
sitemaps and the HTML pages for readers and crawlers; anything else is a JSON 404."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from api_project.docs import offline_docs
from resources import exceptions, feeds, pages, sitemaps

urlpatterns = [
    path("api/", include("resources.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs",
        offline_docs(SpectacularSwaggerView.as_view(url_name="schema")),
        name="docs",
    ),
    path(
        "api/redoc",
        offline_docs(
            SpectacularRedocView.as_view(url_name="schema", template_name="conduit/redoc.html")
        ),
        name="redoc",
    ),
    path("admin/", admin.site.urls),
    # For readers and crawlers, outside /api (and outside the schema): HTML pages, feeds and
    # sitemaps, every absolute link in them from PUBLIC_BASE_URL.
    path("articles", pages.articles_page, name="articles-page"),
    re_path(r"^articles/(?P<slug>[^/]+)$", pages.article_page, name="article-page"),
    # A tag is any text (a newline, a slash, a dot included): [\s\S], not ".".
    re_path(r"^tags/(?P<tag>[\s\S]+)$", pages.tag_page, name="tag-page"),
    re_path(r"^profiles/(?P<username>[^/]+)$", pages.profile_page, name="profile-page"),
    path("feeds/articles.atom", feeds.conditional(feeds.ArticlesFeed()), name="feed-articles-atom"),
    path(
        "feeds/articles.rss", feeds.conditional(feeds.ArticlesRssFeed()), name="feed-articles-rss"
    ),
    re_path(
        r"^feeds/tags/(?P<tag>[\s\S]+)\.atom$", feeds.conditional(feeds.TagFeed()), name="feed-tag"
    ),
    re_path(
        r"^feeds/authors/(?P<username>[^/]+)\.atom$",
        feeds.conditional(feeds.AuthorFeed()),
        name="feed-author",
    ),
    path("sitemap.xml", sitemaps.index, name="sitemap-index"),
    re_path(r"^sitemap-(?P<section>[a-z]+)\.xml$", sitemaps.section, name="sitemap-section"),
    # Last: every other path answers 404 in the API's error shape, whatever DEBUG says.
    re_path(r"", exceptions.not_found),
]

handler400 = exceptions.bad_request
handler403 = exceptions.permission_denied
handler404 = exceptions.not_found
handler500 = exceptions.server_error
