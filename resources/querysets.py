"""Reads: the querysets every response is read through, with the viewer-aware annotations.

List, feed, detail and write responses all read through these, so `favorited`,
`favoritesCount` and `author.following` are computed one way, in SQL, for every response. Paging
a list of articles is resources/listing.py; queries compiled once are resources/compiled_sql.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from django.contrib.auth.models import AnonymousUser
from django.db import router
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Lower
from django.db.models.query import ModelIterable, ValuesListIterable

# models.py builds its managers from the classes below, so this module runs while models.py is
# still importing: the model classes are looked up on the module when a query is built.
from resources import models
from resources.compiled_sql import SENTINEL_ID, CompiledQuery, sentinel_text
from resources.expressions import NameList
from resources.rows import (
    AUTHOR_FOLLOWING,
    ArticleRow,
    article_columns,
    article_rows,
    author_columns,
)

if TYPE_CHECKING:
    from resources.models import User

    Viewer: TypeAlias = User | AnonymousUser

TAGS_LISTED = 100
# Entries in a feed (resources/feeds.py): the newest published articles.
FEED_ENTRIES = 50


def is_following(viewer: Viewer, user_ref: str) -> Exists | Value:
    """Whether `viewer` follows the user that `user_ref` names in the outer query."""
    if not viewer.is_authenticated:
        return Value(False)
    return Exists(models.Follow.objects.filter(follower=viewer, followee=OuterRef(user_ref)))


class UserQuerySet(QuerySet):
    def with_username(self, username: str) -> UserQuerySet:
        """Users whose username matches case-insensitively, as the unique constraint compares."""
        return self.alias(username_ci=Lower("username")).filter(username_ci=Lower(Value(username)))

    def with_email(self, email: str) -> UserQuerySet:
        return self.alias(email_ci=Lower("email")).filter(email_ci=Lower(Value(email)))

    def get_by_email(self, email: str) -> User:
        return self.with_email(email).get()

    def with_viewer(self, viewer: Viewer) -> UserQuerySet:
        """Profiles as `viewer` sees them: `following` is true where the viewer follows them."""
        return self.annotate(following=is_following(viewer, "pk"))

    def authors(self) -> UserQuerySet:
        """Users with at least one published article: the profiles the sitemaps list."""
        return self.filter(articles_count__gt=0)

    def sitemap_page(self, *, offset: int, limit: int) -> Iterator[str]:
        """The usernames of authors() from `offset` on, `limit` of them in id order, streamed
        from the database (see ArticleQuerySet.sitemap_page)."""
        start = self.authors().order_by("pk").values_list("pk", flat=True)[offset : offset + 1]
        first = next(iter(start), None)
        if first is None:
            return iter(())
        rows = self.authors().filter(pk__gte=first).order_by("pk")
        return rows.values_list("username", flat=True)[:limit].iterator(chunk_size=SITEMAP_CHUNK)

    def active(self, pk: int) -> User | None:
        """The active user with this id: every signed-in request asks, so its SQL is compiled
        once."""
        alias = router.db_for_read(self.model)
        compiled = _active_user_query(alias)
        found = compiled.rows((pk,))
        return cast("User", self.model.from_db(alias, compiled.names, found[0])) if found else None


# The columns a signed-in request may read of its user.
SIGNED_IN_USER_FIELDS = ("id", "password", "username", "email", "bio", "image", "is_active")


@lru_cache(maxsize=16)
def _active_user_query(alias: str) -> CompiledQuery:
    users = models.User.objects.using(alias).filter(pk=SENTINEL_ID, is_active=True)
    return CompiledQuery(users.values_list(*SIGNED_IN_USER_FIELDS)[:1], (SENTINEL_ID,))


class TagQuerySet(QuerySet):
    def in_use(self) -> TagQuerySet:
        """Tags on at least one published article: a tag only drafts carry is nobody's to see."""
        return self.filter(articles_count__gt=0)

    def popular(self) -> TagQuerySet:
        """Tags in use, most used first, then by name (read off the tag_popular_idx index)."""
        return self.in_use().order_by("-articles_count", "name")[:TAGS_LISTED]

    def popular_names(self) -> list[str]:
        """The names of popular(); every page of a frontend asks, so its SQL is compiled once."""
        compiled = _popular_tags_query(router.db_for_read(self.model))
        return [name for (name,) in compiled.rows(())]


@lru_cache(maxsize=16)
def _popular_tags_query(alias: str) -> CompiledQuery:
    return CompiledQuery(models.Tag.objects.using(alias).popular().values_list("name"), ())


class ArticleRowIterable(ValuesListIterable):
    """Articles as ArticleRow dicts straight from the row tuples: a page needs no model
    instances, which would cost more to build than the rest of the request."""

    def __iter__(self) -> Iterator[Any]:
        # The order ValuesListIterable yields: the listed fields, then later annotations.
        listed = cast(Any, self.queryset)._fields
        later = [f for f in self.queryset.query.annotation_select if f not in listed]
        return article_rows([*listed, *later], super().__iter__())


# Rows fetched at a time while a sitemap page streams: its 50,000 rows never sit in memory at
# once (PostgreSQL reads them through a server-side cursor).
SITEMAP_CHUNK = 2000


class ArticleQuerySet(QuerySet):
    def published(self) -> ArticleQuerySet:
        return self.filter(models.PUBLISHED)

    def syndicated(self, *, body: bool = True) -> ArticleQuerySet:
        """A feed's entries: the newest published articles, as an anonymous reader reads them
        (their HTML unless `body` is false, tags and author), in one statement."""
        rows = self.published().with_viewer(AnonymousUser(), body=body)
        return rows.newest_first()[:FEED_ENTRIES]

    def published_count(self) -> int:
        """How many articles are published, from the counter row the triggers keep."""
        totals = models.Totals.objects.filter(pk=1).values_list("articles", flat=True)
        return next(iter(totals), 0)

    def public_row(self, slug: str) -> ArticleRow | None:
        """The published article at `slug`, as an anonymous reader reads it: the article page
        is the same for everyone, drafts never have one."""
        return self.row(AnonymousUser(), slug=slug)

    def sitemap_page(self, *, offset: int, limit: int) -> Iterator[tuple[str, datetime]]:
        """(slug, updated_at) of the published articles from `offset` on, `limit` of them,
        oldest publication first (so pages change little as articles are added), streamed.

        The page's first row is found off article_recent_idx (its two columns only), then the
        page is read from there by keyset, so no page costs more than its own rows."""
        ordered = self.published().order_by("published_at", "id")
        start = ordered.values_list("published_at", "id")[offset : offset + 1]
        first = next(iter(start), None)
        if first is None:
            return iter(())
        when, pk = first
        rows = ordered.filter(
            Q(published_at__gt=when) | Q(published_at=when, id__gte=pk), published_at__gte=when
        ).values_list("slug", "updated_at")
        return rows[:limit].iterator(chunk_size=SITEMAP_CHUNK)

    def newest_first(self) -> ArticleQuerySet:
        """Public lists' order: the newest publication first, id as the tie-break."""
        return self.order_by("-published_at", "-id")

    def visible_to(self, viewer: Viewer) -> ArticleQuerySet:
        """What `viewer` may see: published articles, and their own drafts."""
        if not viewer.is_authenticated:
            return self.published()
        return self.filter(models.PUBLISHED | Q(author=viewer))

    def with_slug(self, viewer: Viewer, slug: str) -> ArticleQuerySet:
        """The article `viewer` reaches at /articles/{slug}: their own if they have one with
        that slug (a draft's slug may also be a published article's), the published one
        otherwise."""
        qs = self.visible_to(viewer).filter(slug=slug)
        if not viewer.is_authenticated:
            return qs
        return qs.order_by(Case(When(author=viewer, then=Value(0)), default=Value(1)))

    def with_viewer(self, viewer: Viewer, *, body: bool = True) -> ArticleQuerySet:
        """Every key of ArticleRow in one statement, as ArticleRow dicts: author, tag names
        (sorted), favoritesCount (a counter column), and the viewer's `favorited` and
        `author.following`. Lists leave the body out."""
        if viewer.is_authenticated:
            mine = models.Favorite.objects.filter(article=OuterRef("pk"), user=viewer)
            favorited: Exists | Value = Exists(mine)
        else:
            favorited = Value(False)
        tag_names = models.Tag.objects.filter(articles=OuterRef("pk")).order_by().values("name")
        qs = self.annotate(
            tag_names=NameList(tag_names),
            favorited=favorited,
            **{AUTHOR_FOLLOWING: is_following(viewer, "author_id")},
        ).values_list(
            *article_columns(body=body),
            "tag_names",
            "favorited",
            *author_columns(),
            AUTHOR_FOLLOWING,
        )
        qs._iterable_class = ArticleRowIterable
        return cast(ArticleQuerySet, qs)

    def for_list(self, viewer: Viewer) -> ArticleQuerySet:
        """A public list's rows: published articles, newest first, without their bodies."""
        return self.published().with_viewer(viewer, body=False).newest_first()

    def filter_list(
        self, *, tag: str = "", author: str = "", favorited: str = ""
    ) -> ArticleQuerySet:
        """Articles matching every filter given; an empty filter matches all."""
        qs = self
        if tag:
            qs = qs.filter(tags__name=tag)
        if author:
            # An equality (the username is unique), so the author index is read in order.
            author_id = models.User.objects.with_username(author).values("pk")[:1]
            qs = qs.filter(author=Subquery(author_id))
        if favorited:
            fans = models.User.objects.with_username(favorited).values("pk")
            qs = qs.filter(pk__in=models.Favorite.objects.filter(user__in=fans).values("article"))
        return qs

    def feed(self, viewer: User) -> ArticleQuerySet:
        """Articles by the authors `viewer` follows."""
        followed = models.Follow.objects.filter(follower=viewer).values("followee")
        return self.filter(author__in=followed)

    def row(
        self, viewer: Viewer, *, slug: str | None = None, pk: int | None = None
    ) -> ArticleRow | None:
        """One article `viewer` may see, by slug or by id, as they read it (one statement,
        compiled once per kind of lookup); None when there is no such article."""
        key, value = ("slug", slug) if slug is not None else ("pk", pk)
        alias = router.db_for_read(self.model)
        viewer_id = viewer.pk if viewer.is_authenticated else None
        compiled = _article_query(alias, viewer_id is not None, key)
        return next(article_rows(compiled.names, compiled.rows((viewer_id, value))), None)


@lru_cache(maxsize=16)
def _article_query(alias: str, signed_in: bool, key: str) -> CompiledQuery:
    viewer: Viewer = models.User(pk=SENTINEL_ID) if signed_in else AnonymousUser()
    articles = models.Article.objects.using(alias)
    if key == "slug":
        sentinel: str | int = sentinel_text("slug")
        found = articles.with_slug(viewer, sentinel_text("slug"))
    else:
        sentinel = SENTINEL_ID - 1
        found = articles.visible_to(viewer).filter(pk=sentinel)
    return CompiledQuery(found.with_viewer(viewer)[:1], (SENTINEL_ID, sentinel))


class _AuthorFollowingIterable(ModelIterable):
    """Moves the `author_following` annotation onto the author, where the profile shape reads
    `following`, so the nested author and a top-level profile share one serializer."""

    def __iter__(self) -> Iterator[Any]:
        for obj in super().__iter__():
            obj.author.following = getattr(obj, AUTHOR_FOLLOWING)
            yield obj


class CommentQuerySet(QuerySet):
    def with_viewer(self, viewer: Viewer) -> CommentQuerySet:
        qs = (
            self.select_related("author")
            .only("article_id", "body", "body_html", "created_at", "updated_at", *author_columns())
            .annotate(**{AUTHOR_FOLLOWING: is_following(viewer, "author_id")})
            .order_by("created_at", "id")
        )
        qs._iterable_class = _AuthorFollowingIterable
        return qs
