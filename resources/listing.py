"""Lists of articles as the API pages them: the global list with its filters, a reader's feed
(published articles, newest publication first), or a reader's own articles, drafts included
(most recently updated first).

A page is one statement: the ids of the page first (off an index already in the list's order,
where there is one), then those rows with every key of ArticleRow, and the list's exact count
riding along. Its SQL is compiled once per kind of page (resources/compiled_sql.py).

A page starts at an offset, or after a position (a keyset page, resources/cursors.py): the
articles after the last one of the previous page in the list's order, read off the same index
from that position on. A search is ordered by relevance, which no index holds, so it pages by
offset only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, TypeAlias, cast

from django.contrib.auth.models import AnonymousUser
from django.db import connections, router
from django.db.models import Expression, F, OrderBy, Q, QuerySet, Subquery, Sum
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleLessThan
from django.db.models.functions import Coalesce

from resources.compiled_sql import SENTINEL_ID, CompiledQuery, sentinel_text
from resources.cursors import Order, Position
from resources.expressions import SubqueryCount
from resources.models import (
    LISTED,
    Article,
    ArticleTag,
    Favorite,
    Follow,
    Tag,
    Totals,
    User,
)
from resources.querysets import ArticleQuerySet
from resources.rows import ArticleRow, article_rows
from resources.search import SearchMatch, SearchTier, has_matches, parse, search_values

if TYPE_CHECKING:
    Viewer: TypeAlias = User | AnonymousUser

# The newest offset + limit of each followed author's articles (off the author index), then the
# page among those: the same few hundred index entries however many articles there are. Django
# has no LATERAL join, hence the SQL.
FEED_PAGE_IDS = """
    SELECT recent.id FROM resources_follow follow
    CROSS JOIN LATERAL (
        SELECT article.id, article.published_at FROM resources_article article
        WHERE article.author_id = follow.followee_id AND article.status = 'published'
        ORDER BY article.published_at DESC, article.id DESC LIMIT %s
    ) recent
    WHERE follow.follower_id = %s
    ORDER BY recent.published_at DESC, recent.id DESC LIMIT %s OFFSET %s
"""
# The same, after a position: each author's articles from there on, off the same index.
FEED_PAGE_IDS_AFTER = FEED_PAGE_IDS.replace(
    "AND article.status = 'published'",
    "AND article.status = 'published' AND (article.published_at, article.id) < (%s, %s)",
)
# Link rows (tags, favorites) carry their article's published_at while it is published, so they
# page in list order too.
NEWEST_LINKS_FIRST = ("-article_published_at", "-article")
RECENTLY_UPDATED_FIRST = ("-updated_at", "-id")


@dataclass(frozen=True)
class Page:
    """A page of a list: its articles, the list's count, and whether a next page follows and
    after which position it starts (None where the list pages by offset only)."""

    rows: list[ArticleRow]
    total: int
    next: Position | None
    has_next: bool


@dataclass(frozen=True)
class ArticleListing:
    """One page of one list of articles: the filters (an empty one filters nothing), whether it
    is the reader's feed or their own articles (of one status, or all: ""), and the page.

    `search_terms` are the values the SQL of a search takes (resources/search.py's
    search_values()); they follow from `search` unless given, as they are when a page's SQL is
    compiled with sentinels in their place."""

    viewer: Viewer
    tag: str = ""
    author: str = ""
    favorited: str = ""
    search: str = ""
    feed: bool = False
    own: bool = False
    status: str = ""
    offset: int = 0
    limit: int = 20
    cursor: Position | None = None
    search_terms: tuple[str, str, str] | None = None

    @property
    def order_kind(self) -> Order:
        return "updated" if self.own else "published"

    def fetch(self) -> Page:
        """The page, its list's count, and where the next page starts (None on the last page,
        and for a search, which pages by offset only)."""
        # After a position, one article more than the page says whether there is a next page;
        # at an offset, the count says it.
        listing = replace(self, limit=self.limit + 1) if self.cursor else self
        rows, total, ids = listing.rows_and_total()
        if self.cursor is None:
            has_next = self.offset + len(rows) < total
        else:
            has_next = len(rows) > self.limit
            rows, ids = rows[: self.limit], ids[: self.limit]
        if not has_next or not rows or self.search:
            return Page(rows, total, None, has_next and bool(rows))
        last = rows[-1]
        at = cast(datetime, last["updated_at"] if self.own else last["published_at"])
        return Page(rows, total, Position(self.order_kind, at, ids[-1]), True)

    def page(self) -> tuple[list[ArticleRow], int]:
        """The page's articles and the number of matching ones, in one statement (two when the
        page is empty, since then there is no row to carry the count)."""
        rows, total, _ = self.rows_and_total()
        return rows, total

    def rows_and_total(self) -> tuple[list[ArticleRow], int, list[int]]:
        if self.search and not has_matches(parse(self.search)):
            # Operators or punctuation only: nothing to look for.
            return [], 0, []
        alias = router.db_for_read(Article)
        vendor = connections[alias].vendor
        viewer_id = self.viewer.pk if self.viewer.is_authenticated else None
        kind = PageKind(
            alias=alias,
            signed_in=viewer_id is not None,
            feed=self.feed,
            own=self.own,
            status=self.status,
            tag=bool(self.tag),
            author=bool(self.author),
            favorited=bool(self.favorited),
            search=bool(self.search),
            offset=self.offset,
            limit=self.limit,
            after=self.cursor is not None,
        )
        compiled = _page_query(kind)
        at = (
            connections[alias].ops.adapt_datetimefield_value(self.cursor.at)
            if self.cursor
            else None
        )
        after_id = self.cursor.id if self.cursor else None
        values = (
            viewer_id,
            self.tag,
            self.author,
            self.favorited,
            *self.terms(vendor),
            at,
            after_id,
        )
        rows = compiled.rows(values)
        if rows:
            ids = [row[compiled.names.index("row_id")] for row in rows]
            total = rows[0][compiled.names.index("total")]
            return list(article_rows(compiled.names, rows)), total, ids
        # Any row can carry the total; with no article at all it is 0.
        _, total_sql = self.ids_and_total(vendor)
        counted = Article.objects.annotate(total=total_sql).values_list("total", flat=True)
        return [], counted.first() or 0, []

    def terms(self, vendor: str) -> tuple[str, str, str]:
        if self.search_terms is not None:
            return self.search_terms
        return search_values(self.search, vendor) if self.search else ("", "", "")

    def matching(self, vendor: str) -> ArticleQuerySet:
        qs = cast(ArticleQuerySet, Article.objects.all())
        if self.own:
            mine = qs.filter(author=cast(User, self.viewer))
            return mine.filter(status=self.status) if self.status else mine
        qs = qs.published()
        if self.feed:
            qs = qs.feed(cast(User, self.viewer))
        if self.search:
            qs = qs.filter(SearchMatch(self.terms(vendor)[0]))
        return qs.filter_list(tag=self.tag, author=self.author, favorited=self.favorited)

    def order(self, vendor: str) -> tuple[str | OrderBy, ...]:
        if self.own:
            return RECENTLY_UPDATED_FIRST
        if self.search:
            _, title, fields = self.terms(vendor)
            return (SearchTier(title, fields).desc(), "-published_at", "-id")
        return ("-published_at", "-id")

    def ids_and_total(self, vendor: str) -> tuple[QuerySet | RawSQL, Expression | Subquery]:
        """The ids of the page, in the list's order, read off an index already in that order
        where there is one; and the exact number of matching articles as an SQL expression,
        from a counter the database keeps where there is one, a count over an index otherwise."""
        start, end = self.offset, self.offset + self.limit
        matching = self.matching(vendor)
        after = self.after("updated_at" if self.own else "published_at", "id")
        ordered = matching.filter(after).order_by(*self.order(vendor)).values("pk")[start:end]
        if self.own or self.search:
            # An author's own articles are few next to the table, and a search's matches are
            # counted off the search index.
            return ordered, SubqueryCount(matching)
        newest = ordered
        given = tuple(name for name in ("tag", "author", "favorited") if getattr(self, name))
        match (self.feed, given):
            case (True, ()):
                followed = Follow.objects.filter(follower=cast(User, self.viewer))
                sums = followed.values("follower").annotate(n=Sum("followee__articles_count"))
                total = Coalesce(Subquery(sums.values("n")), 0)
                if vendor != "postgresql":
                    return newest, total
                params = (end, self.viewer.pk, self.limit, self.offset)
                if self.cursor is None:
                    return RawSQL(FEED_PAGE_IDS, params), total  # noqa: S611 (constant SQL)
                position = (self.cursor.at, self.cursor.id)
                return RawSQL(FEED_PAGE_IDS_AFTER, position + params), total  # noqa: S611
            case (False, ()):
                # No Totals row means no article was ever written (or the tables were emptied).
                totals = Totals.objects.filter(pk=1).values("articles")
                return newest, Coalesce(Subquery(totals), SubqueryCount(matching))
            case (False, ("tag",)):
                tag = Tag.objects.filter(name=self.tag)
                links = ArticleTag.objects.filter(LISTED, tag=Subquery(tag.values("pk")[:1]))
                links = links.filter(self.after("article_published_at", "article"))
                tagged = links.order_by(*NEWEST_LINKS_FIRST).values("article")[start:end]
                return tagged, Coalesce(Subquery(tag.values("articles_count")), 0)
            case (False, ("author",)):
                users = User.objects.with_username(self.author).values("articles_count")
                return newest, Coalesce(Subquery(users), 0)
            case (False, ("favorited",)):
                fan = Subquery(User.objects.with_username(self.favorited).values("pk")[:1])
                favorites = Favorite.objects.filter(LISTED, user=fan)
                later = favorites.filter(self.after("article_published_at", "article"))
                liked = later.order_by(*NEWEST_LINKS_FIRST).values("article")[start:end]
                return liked, SubqueryCount(favorites)
            case _:
                # Other combinations are narrow: an author's articles, or one reader's favorites.
                return newest, SubqueryCount(matching)

    def after(self, at: str, pk: str) -> Q | TupleLessThan:
        """Rows after the cursor's position in a list ordered by `at`, then `pk`, both
        descending (every row without a cursor): `(at, pk) < (t, id)`, a row comparison that
        PostgreSQL reads as the start of an index range (other databases get its expansion)."""
        if self.cursor is None:
            return Q()
        return TupleLessThan(Tuple(F(at), F(pk)), (self.cursor.at, self.cursor.id))


@dataclass(frozen=True)
class PageKind:
    """What the SQL of a page depends on (the values, such as which tag, are filled in later)."""

    alias: str
    signed_in: bool
    feed: bool
    own: bool
    status: str
    tag: bool
    author: bool
    favorited: bool
    search: bool
    offset: int
    limit: int
    # A keyset page, after a cursor's position.
    after: bool = False


# In the order ArticleListing.page() passes the request's values.
SEARCH_SENTINELS = (sentinel_text("search"), sentinel_text("title"), sentinel_text("fields"))
PAGE_SENTINELS = (
    SENTINEL_ID,
    sentinel_text("tag"),
    sentinel_text("author"),
    sentinel_text("fan"),
    *SEARCH_SENTINELS,
)
# A cursor's position: a time no article has (cursors are made of articles' own times) and an
# id no article has.
SENTINEL_TIME = datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
SENTINEL_AFTER_ID = SENTINEL_ID - 1


# Kinds differ by offset and limit too; the most used stay compiled.
@lru_cache(maxsize=256)
def _page_query(kind: PageKind) -> CompiledQuery:
    viewer: Viewer = User(pk=SENTINEL_ID) if kind.signed_in else AnonymousUser()
    _, tag, author, fan, *_ = PAGE_SENTINELS
    listing = ArticleListing(
        viewer,
        tag=tag if kind.tag else "",
        author=author if kind.author else "",
        favorited=fan if kind.favorited else "",
        search=SEARCH_SENTINELS[0] if kind.search else "",
        search_terms=SEARCH_SENTINELS if kind.search else None,
        feed=kind.feed,
        own=kind.own,
        status=kind.status,
        offset=kind.offset,
        limit=kind.limit,
        cursor=Position("updated" if kind.own else "published", SENTINEL_TIME, SENTINEL_AFTER_ID)
        if kind.after
        else None,
    )
    connection = connections[kind.alias]
    ids, total = listing.ids_and_total(connection.vendor)
    rows = Article.objects.using(kind.alias).with_viewer(viewer, body=False)
    queryset = rows.filter(pk__in=ids).order_by(*listing.order(connection.vendor))
    # The id rides along for the next page's cursor (article rows leave it out).
    queryset = queryset.annotate(total=total, row_id=F("pk"))
    # The time is a parameter as the database takes it (SQLite: text).
    at = connection.ops.adapt_datetimefield_value(SENTINEL_TIME)
    return CompiledQuery(queryset, (*PAGE_SENTINELS, at, SENTINEL_AFTER_ID))
