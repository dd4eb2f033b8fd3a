"""The sitemaps (django.contrib.sitemaps): /sitemap.xml, an index of the sections' pages, and
each page streamed from the database, so a section of a million articles is never in memory."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, cast
from xml.sax.saxutils import escape

from django.contrib.sitemaps import Sitemap
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from resources.models import Article, User
from resources.public import public_base_url, public_url

CONTENT_TYPE = "application/xml; charset=utf-8"
URLSET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
)
URLSET_CLOSE = "</urlset>\n"


def w3c_datetime(when: datetime) -> str:
    """A lastmod as the protocol writes it (W3C datetime), in UTC, to the second."""
    return when.astimezone(UTC).isoformat(timespec="seconds")


class PublicSitemap(Sitemap):
    """A section whose addresses are built from PUBLIC_BASE_URL, never from the request, and
    whose pages are read by `page_items`: from the page's first row on, streamed (the framework's
    own paging would slice the whole section with OFFSET and build every page in memory)."""

    # The protocol's limit on the URLs in one sitemap file.
    limit = 50_000

    def get_protocol(self, protocol: str | None = None) -> str:
        return public_base_url().split("://", 1)[0]

    def get_domain(self, site: Any = None) -> str:
        # With any path PUBLIC_BASE_URL has: locations are this plus the route's path.
        return public_base_url().split("://", 1)[1]

    def count(self) -> int:
        return len(cast(Sequence[Any], self.items()))

    def num_pages(self) -> int:
        return math.ceil(self.count() / self.limit)

    def page_items(self, page: int) -> Iterator[Any]:
        start = (page - 1) * self.limit
        return iter(cast(Sequence[Any], self.items())[start : start + self.limit])

    @cached_property
    def base(self) -> str:
        return public_base_url()

    def entry(self, item: Any) -> str:
        """One <url> element."""
        lastmod = self.lastmod(item)
        when = f"<lastmod>{w3c_datetime(lastmod)}</lastmod>" if lastmod else ""
        return f"<url><loc>{escape(self.base + self.location(item))}</loc>{when}</url>\n"

    def lastmod(self, item: Any) -> datetime | None:
        return None


class PagesSitemap(PublicSitemap):
    """The page that lists the newest articles; always there, so the index is never empty."""

    def items(self) -> list[str]:
        return ["articles-page"]

    def location(self, item: str) -> str:
        return reverse(item)


class ArticlesSitemap(PublicSitemap):
    """Published articles, oldest publication first, with the time each was last changed."""

    def items(self) -> Any:
        return (
            Article.objects.published()
            .order_by("published_at", "id")
            .values_list("slug", "updated_at")
        )

    def count(self) -> int:
        return Article.objects.published_count()

    def page_items(self, page: int) -> Iterator[tuple[str, datetime]]:
        return Article.objects.sitemap_page(offset=(page - 1) * self.limit, limit=self.limit)

    @cached_property
    def prefix(self) -> str:
        # Resolved once, not once per row: slugs are URL-safe as they are (SLUG_PATTERN).
        return reverse("article-page", args=["-"])[:-1]

    def location(self, item: tuple[str, datetime]) -> str:
        return self.prefix + item[0]

    def lastmod(self, item: tuple[str, datetime]) -> datetime:
        return item[1]


class ProfilesSitemap(PublicSitemap):
    """The profiles of users with published articles."""

    def items(self) -> Any:
        return User.objects.authors().order_by("pk").values_list("username", flat=True)

    def count(self) -> int:
        return User.objects.authors().count()

    def page_items(self, page: int) -> Iterator[str]:
        return User.objects.sitemap_page(offset=(page - 1) * self.limit, limit=self.limit)

    @cached_property
    def prefix(self) -> str:
        # Resolved once: usernames are URL-safe as they are (USERNAME_PATTERN).
        return reverse("profile-page", args=["-"])[:-1]

    def location(self, item: str) -> str:
        return self.prefix + item


SITEMAPS: dict[str, type[PublicSitemap]] = {
    "pages": PagesSitemap,
    "articles": ArticlesSitemap,
    "profiles": ProfilesSitemap,
}


def _section_url(section: str, page: int) -> str:
    url = public_url("sitemap-section", section)
    return url if page == 1 else f"{url}?p={page}"


@csrf_exempt  # read-only: a POST is a 405, not a CSRF failure
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """/sitemap.xml: every page of every section that has any address."""
    locations = [
        _section_url(section, page)
        for section, sitemap in SITEMAPS.items()
        for page in range(1, sitemap().num_pages() + 1)
    ]
    sitemaps = [{"location": location} for location in locations]
    body = render_to_string("sitemap_index.xml", {"sitemaps": sitemaps})
    return HttpResponse(body, content_type=CONTENT_TYPE)


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("p", "1")
    if not value.isascii() or not value.isdigit() or int(value) < 1 or len(value) > 9:
        raise Http404("No such page.")
    return int(value)


def _urlset(sitemap: PublicSitemap, first: Any, rest: Iterable[Any]) -> Iterator[str]:
    yield URLSET_OPEN
    yield sitemap.entry(first)
    # A few hundred entries per chunk written, rather than one each.
    chunk: list[str] = []
    for item in rest:
        chunk.append(sitemap.entry(item))
        if len(chunk) == 500:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)
    yield URLSET_CLOSE


@csrf_exempt  # read-only: a POST is a 405, not a CSRF failure
@require_safe
def section(request: HttpRequest, section: str) -> StreamingHttpResponse:
    """One page of a section: ?p=N, from 1; a page past the section's end is a 404, as is a
    section's only page while it is empty (the protocol wants at least one URL in a file)."""
    sitemap_class = SITEMAPS.get(section)
    if sitemap_class is None:
        raise Http404("No such sitemap.")
    sitemap = sitemap_class()
    public_base_url()
    items = sitemap.page_items(_page_number(request))
    first = next(items, None)
    if first is None:
        raise Http404("No such page.")
    return StreamingHttpResponse(_urlset(sitemap, first, items), content_type=CONTENT_TYPE)
