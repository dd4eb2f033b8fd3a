"""Atom and RSS feeds of the newest published articles (django.contrib.syndication): site-wide,
per tag and per author, with conditional GET."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape
from django.utils.http import parse_http_date_safe, quote_etag
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from resources.models import Article, Tag, User
from resources.public import public_url
from resources.querysets import FEED_ENTRIES
from resources.rows import ArticleRow

SITE_NAME = "Conduit"


# The date of a feed with no entries: fixed, so that its bytes, and its ETag, stay the same
# (the framework would say "now", and a reader would never get a 304).
EMPTY_FEED_DATE = datetime(1970, 1, 1, tzinfo=UTC)


class StableDates:
    def latest_post_date(self) -> datetime:
        items = cast(Any, self).items
        return cast(Any, super()).latest_post_date() if items else EMPTY_FEED_DATE


class AtomFeed(StableDates, Atom1Feed):
    """Atom 1.0 with each entry's HTML as its content, beside the summary."""

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content"], {"type": "html"})


class RssFeed(StableDates, Rss201rev2Feed):
    """RSS 2.0 with each item's HTML in content:encoded, beside the description."""

    def rss_attributes(self) -> dict[str, str]:
        return {
            **super().rss_attributes(),
            "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
        }

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content"])


class ArticlesFeed(Feed):
    """Every published article, newest first. Subclasses narrow it to a tag or an author; the
    object they look up is what `items` filters on."""

    feed_type: type = AtomFeed
    feed_route = "feed-articles-atom"
    page_route = "articles-page"

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        return None

    def entries(self, obj: Any) -> Any:
        return Article.objects.all()

    def items(self, obj: Any) -> list[ArticleRow]:
        return list(self.entries(obj).syndicated())

    def route_args(self, obj: Any) -> tuple[str, ...]:
        return ()

    def title(self, obj: Any) -> str:
        return f"{SITE_NAME}: newest articles"

    def description(self, obj: Any) -> str:
        return f"The {FEED_ENTRIES} newest articles published on {SITE_NAME}."

    def link(self, obj: Any) -> str:
        return public_url(self.page_route, *self.route_args(obj))

    def feed_url(self, obj: Any) -> str:
        return public_url(self.feed_route, *self.route_args(obj))

    # Titles are text in both formats (the generator escapes them for XML once); summaries are
    # HTML in both (Atom's type="html", RSS's description), so the plain description is escaped
    # for HTML first, or a reader would render markup typed into it.
    def item_title(self, item: ArticleRow) -> str:
        return item["title"]

    def item_description(self, item: ArticleRow) -> str:
        return escape(item["description"])

    def item_link(self, item: ArticleRow) -> str:
        return public_url("article-page", item["slug"])

    def item_author_name(self, item: ArticleRow) -> str:
        return item["author"]["username"]

    def item_author_link(self, item: ArticleRow) -> str:
        return public_url("profile-page", item["author"]["username"])

    def item_pubdate(self, item: ArticleRow) -> datetime | None:
        return item["published_at"]

    def item_updateddate(self, item: ArticleRow) -> datetime:
        return item["updated_at"]

    def item_categories(self, item: ArticleRow) -> list[str]:
        return item["tag_names"]

    def item_extra_kwargs(self, item: ArticleRow) -> dict[str, Any]:
        # Sanitized when the article was written (resources/markdown.py).
        return {"content": item["body_html"]}


class ArticlesRssFeed(ArticlesFeed):
    feed_type = RssFeed
    feed_route = "feed-articles-rss"


class TagFeed(ArticlesFeed):
    feed_route = "feed-tag"
    page_route = "tag-page"

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        # Unknown, or on drafts only: Tag.DoesNotExist is the framework's 404.
        return Tag.objects.in_use().values_list("name", flat=True).get(name=kwargs["tag"])

    def entries(self, obj: str) -> Any:
        return Article.objects.filter_list(tag=obj)

    def route_args(self, obj: str) -> tuple[str, ...]:
        return (obj,)

    def title(self, obj: str) -> str:
        return f"{SITE_NAME}: articles tagged {obj}"

    def description(self, obj: str) -> str:
        return f"The {FEED_ENTRIES} newest articles tagged {obj} on {SITE_NAME}."


class AuthorFeed(ArticlesFeed):
    feed_route = "feed-author"
    page_route = "profile-page"

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        # The username as it is spelled, whatever the case in the address.
        users = User.objects.with_username(kwargs["username"])
        return users.values_list("username", flat=True).get()

    def entries(self, obj: str) -> Any:
        return Article.objects.filter_list(author=obj)

    def route_args(self, obj: str) -> tuple[str, ...]:
        return (obj,)

    def title(self, obj: str) -> str:
        return f"{SITE_NAME}: articles by {obj}"

    def description(self, obj: str) -> str:
        return f"The {FEED_ENTRIES} newest articles by {obj} on {SITE_NAME}."


def conditional(feed: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The feed with an ETag of its bytes and the Last-Modified the framework sets (its newest
    entry's date), answering 304 to a request that already has it. The ETag is what tells a
    reader of an entry that left the feed (unpublished, deleted): the newest date may not move."""

    @csrf_exempt  # read-only: a POST is a 405, not a CSRF failure
    @require_safe
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = feed(request, *args, **kwargs)
        etag = quote_etag(hashlib.sha256(response.content).hexdigest()[:32])
        response["ETag"] = etag
        last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
        answer = get_conditional_response(
            request, etag=etag, last_modified=last_modified, response=response
        )
        return answer if answer is not None else response

    return view
