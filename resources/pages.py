"""Server-rendered HTML for readers and link previews: an article's shareable page, and the
pages that list the newest articles (site-wide, per tag, per author) that the feeds point to."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from resources.models import Article, Tag, User
from resources.public import frontend_article_url, public_url
from resources.rows import ArticleRow

SITE_NAME = "Conduit"

# The pages run no script and load nothing but the images they show (an author's picture,
# images in an article's HTML): the browser refuses anything else, whatever got into the markup.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src http: https:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

# In a <script> element only "</" can end the element early; escaping <, > and & in the JSON
# (still the same JSON) leaves nothing in it for the HTML parser to see.
_JSON_IN_HTML = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def json_ld(data: dict[str, Any]) -> SafeString:
    """`data` as the text of a <script type="application/ld+json"> element."""
    return mark_safe(json.dumps(data, ensure_ascii=False).translate(_JSON_IN_HTML))  # noqa: S308


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    try:
        home = public_url("articles-page")
    except Http404:  # the not-found page, without PUBLIC_BASE_URL
        home = reverse("articles-page")
    context = {"site_name": SITE_NAME, "home_url": home, **context}
    response = render(request, template, context, status=status)
    response["Content-Security-Policy"] = PAGE_CONTENT_SECURITY_POLICY
    return response


def not_found_page(request: HttpRequest) -> HttpResponse:
    """The same answer for a draft, a missing article and a page that cannot be linked (no
    PUBLIC_BASE_URL): nothing tells them apart."""
    return _page(request, "conduit/page_not_found.html", {}, status=404)


def html_not_found(view: Any) -> Any:
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return not_found_page(request)

    page.__doc__ = view.__doc__
    page.__name__ = view.__name__
    return page


def _article_data(article: ArticleRow, canonical: str, author_url: str) -> dict[str, Any]:
    """The article as schema.org's Article, for search engines' structured data."""
    author = article["author"]
    person: dict[str, Any] = {"@type": "Person", "name": author["username"], "url": author_url}
    if author["image"]:
        person["image"] = author["image"]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": article["title"],
        "description": article["description"],
        "url": canonical,
        "mainEntityOfPage": canonical,
        "datePublished": article["published_at"].isoformat() if article["published_at"] else None,
        "dateModified": article["updated_at"].isoformat(),
        "author": person,
        "keywords": article["tag_names"],
        "timeRequired": f"PT{article['reading_time_minutes']}M",
    }
    if author["image"]:
        data["image"] = author["image"]
    return data


@csrf_exempt  # read-only: a POST is a 405, not a CSRF failure
@require_safe
@html_not_found
def article_page(request: HttpRequest, slug: str) -> HttpResponse:
    """/articles/<slug>: a published article, the same for every reader."""
    article = Article.objects.public_row(slug)
    if article is None:
        raise Http404("No such article.")
    canonical = public_url("article-page", article["slug"])
    author_url = public_url("profile-page", article["author"]["username"])
    context = {
        "article": article,
        "canonical": canonical,
        "author_url": author_url,
        "tag_urls": [(name, public_url("tag-page", name)) for name in article["tag_names"]],
        "feed_url": public_url("feed-author", article["author"]["username"]),
        "frontend_url": frontend_article_url(article["slug"]),
        "json_ld": json_ld(_article_data(article, canonical, author_url)),
    }
    return _page(request, "conduit/article_page.html", context)


def _list_page(
    request: HttpRequest, *, heading: str, canonical: str, feed_url: str, articles: Any, **extra
) -> HttpResponse:
    rows = [
        {**row, "url": public_url("article-page", row["slug"])}
        for row in articles.syndicated(body=False)
    ]
    context = {
        "heading": heading,
        "canonical": canonical,
        "feed_url": feed_url,
        "articles": rows,
        **extra,
    }
    return _page(request, "conduit/article_list_page.html", context)


@csrf_exempt  # read-only: a POST is a 405, not a CSRF failure
@require_safe
@html_not_found
def articles_page(request: HttpRequest) -> HttpResponse:
    """/articles: the newest published articles."""
    return _list_page(
        request,
        heading="Newest articles",
        canonical=public_url("articles-page"),
        feed_url=public_url("feed-articles-atom"),
        articles=Article.objects.all(),
    )


@csrf_exempt  # read-only: a POST is a 405, not a CSRF failure
@require_safe
@html_not_found
def tag_page(request: HttpRequest, tag: str) -> HttpResponse:
    """/tags/<tag>: the newest published articles with the tag."""
    name = Tag.objects.in_use().values_list("name", flat=True).filter(name=tag).first()
    if name is None:
        raise Http404("No such tag.")
    return _list_page(
        request,
        heading=f"Articles tagged {name}",
        canonical=public_url("tag-page", name),
        feed_url=public_url("feed-tag", name),
        articles=Article.objects.filter_list(tag=name),
    )


@csrf_exempt  # read-only: a POST is a 405, not a CSRF failure
@require_safe
@html_not_found
def profile_page(request: HttpRequest, username: str) -> HttpResponse:
    """/profiles/<username>: who the author is, and their newest published articles."""
    profile = User.objects.with_username(username).values("username", "bio", "image").first()
    if profile is None:
        raise Http404("No such profile.")
    return _list_page(
        request,
        heading=f"Articles by {profile['username']}",
        canonical=public_url("profile-page", profile["username"]),
        feed_url=public_url("feed-author", profile["username"]),
        articles=Article.objects.filter_list(author=profile["username"]),
        profile=profile,
    )
