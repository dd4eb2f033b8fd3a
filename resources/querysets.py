"""Reads: every query the API answers with, and the viewer-aware annotations on them.

List, feed, detail and write responses all read through these querysets, so `favorited`,
`favoritesCount` and `author.following` are computed one way, in SQL, for every response.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from django.contrib.auth.models import AnonymousUser
from django.db import connections, models, router
from django.db.models import Exists, Expression, OuterRef, Subquery, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Lower
from django.db.models.query import ModelIterable, ValuesListIterable

if TYPE_CHECKING:
    from resources.models import User

    Viewer: TypeAlias = User | AnonymousUser

TAGS_LISTED = 100


def _models() -> Any:
    # models.py builds its managers from this module, so the import runs at call time.
    from resources import models as resource_models

    return resource_models


class _NameListField(models.Field):
    """A sorted list of names, from a PostgreSQL array or SQLite JSON text."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = json.loads(value)
        return sorted(value)


class SubqueryCount(Subquery):
    """The number of rows a queryset matches, as a scalar subquery."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"
    output_field = models.IntegerField()

    def __init__(self, queryset: models.QuerySet) -> None:
        super().__init__(queryset.order_by().values("pk"))


class NameList(Subquery):
    """The values of a one-column subquery as a list, within the outer query's own row, so an
    article and its tags come back in one statement, whatever the page size."""

    output_field = _NameListField()
    template = "ARRAY(%(subquery)s)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = '(SELECT json_group_array("name") FROM (%(subquery)s))'
        return self.as_sql(compiler, connection, template=template, **extra)


def article_dicts(names: list[str], rows: Iterable[tuple]) -> Iterator[dict[str, Any]]:
    """Rows of the named columns as the dicts the article shape reads: `author` a nested dict
    with `following`."""
    author = [
        (i, n.removeprefix("author__")) for i, n in enumerate(names) if n.startswith("author__")
    ]
    author.append((names.index("author_following"), "following"))
    own = [
        (i, n)
        for i, n in enumerate(names)
        if not n.startswith("author__") and n != "author_following"
    ]
    for row in rows:
        article = {name: row[i] for i, name in own}
        article["author"] = {name: row[i] for i, name in author}
        yield article


class ArticleRows(ValuesListIterable):
    """Articles as dicts straight from the row tuples: a page needs no model instances, which
    would cost more to build than the rest of the request."""

    def __iter__(self) -> Iterator[Any]:
        # The order ValuesListIterable yields: the listed fields, then later annotations.
        listed = cast(Any, self.queryset)._fields
        later = [f for f in self.queryset.query.annotation_select if f not in listed]
        return article_dicts([*listed, *later], super().__iter__())


class CompiledQuery:
    """A queryset's SQL, compiled once and run again with other values in its placeholders.

    Django compiles a queryset to SQL each time it runs; for a page of articles that costs more
    than the database takes to answer. The queryset is built once with placeholder values
    (which nothing real can equal), and each run puts the request's values in their place and
    converts the rows with the queryset's own converters."""

    def __init__(self, queryset: models.QuerySet, placeholders: tuple[Any, ...]) -> None:
        self.alias = queryset.db
        self.query = queryset.query
        compiler = self.query.get_compiler(self.alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = [
            (position, placeholders.index(value))
            for position, value in enumerate(params)
            if isinstance(value, (int, str))
            and not isinstance(value, bool)
            and value in placeholders
        ]
        selected = compiler.select[: compiler.col_count]
        self.columns = [column for column, _, _ in selected]
        self.names = [alias for _, _, alias in selected]

    def rows(self, values: tuple[Any, ...]) -> list[tuple]:
        params = self.params.copy()
        for position, index in self.slots:
            params[position] = values[index]
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        compiler = self.query.get_compiler(self.alias)
        converters = compiler.get_converters(self.columns)
        return list(compiler.apply_converters(fetched, converters)) if converters else fetched


class _AuthorFollowingIterable(ModelIterable):
    """Moves the `author_following` annotation onto the author, where the profile shape reads
    `following`, so the nested author and a top-level profile share one serializer."""

    def __iter__(self) -> Iterator[Any]:
        for obj in super().__iter__():
            obj.author.following = obj.author_following
            yield obj


def _is_following(viewer: Viewer, user_ref: str) -> Exists | Value:
    if not viewer.is_authenticated:
        return Value(False)
    follows = _models().Follow.objects.filter(follower=viewer, followee=OuterRef(user_ref))
    return Exists(follows)


class UserQuerySet(models.QuerySet):
    def with_username(self, username: str) -> UserQuerySet:
        """Users whose username matches case-insensitively, as the unique constraint compares."""
        return self.alias(username_ci=Lower("username")).filter(username_ci=Lower(Value(username)))

    def with_email(self, email: str) -> UserQuerySet:
        return self.alias(email_ci=Lower("email")).filter(email_ci=Lower(Value(email)))

    def get_by_email(self, email: str) -> User:
        return self.with_email(email).get()

    def with_viewer(self, viewer: Viewer) -> UserQuerySet:
        """Profiles as `viewer` sees them: `following` is true where the viewer follows them."""
        return self.annotate(following=_is_following(viewer, "pk"))

    def active(self, pk: int) -> User | None:
        """The active user with this id: every signed-in request asks, so its SQL is compiled
        once."""
        alias = router.db_for_read(self.model)
        compiled = _compiled_active_user(alias)
        found = compiled.rows((pk,))
        return cast("User", self.model.from_db(alias, compiled.names, found[0])) if found else None


class TagQuerySet(models.QuerySet):
    def popular(self) -> TagQuerySet:
        """Tags in use, most used first, then by name (read off the tag_popular_idx index)."""
        return self.filter(articles_count__gt=0).order_by("-articles_count", "name")[:TAGS_LISTED]

    def popular_names(self) -> list[str]:
        """The names of popular(); every page of a frontend asks, so its SQL is compiled once."""
        compiled = _compiled_popular_tags(router.db_for_read(self.model))
        return [name for (name,) in compiled.rows(())]


# The profile fields an article or comment shows of its author; nothing else is read.
AUTHOR_FIELDS = ("author__username", "author__bio", "author__image")
ARTICLE_FIELDS = ("slug", "title", "description", "created_at", "updated_at", "favorites_count")


class ArticleQuerySet(models.QuerySet):
    def newest_first(self) -> ArticleQuerySet:
        return self.order_by("-created_at", "-id")

    def with_viewer(self, viewer: Viewer, *, body: bool = True) -> ArticleQuerySet:
        """Every field of the article shape in one statement, as ArticleRows dicts: author,
        tag names (sorted), favoritesCount (a counter column), and the viewer's `favorited`
        and `author.following`. Lists leave the body out."""
        m = _models()
        if viewer.is_authenticated:
            mine = m.Favorite.objects.filter(article=OuterRef("pk"), user=viewer)
            favorited: Exists | Value = Exists(mine)
        else:
            favorited = Value(False)
        tag_names = m.Tag.objects.filter(articles=OuterRef("pk")).order_by().values("name")
        columns = [*ARTICLE_FIELDS, *(["body"] if body else [])]
        qs = self.annotate(
            tag_names=NameList(tag_names),
            favorited=favorited,
            author_following=_is_following(viewer, "author_id"),
        ).values_list(*columns, "tag_names", "favorited", *AUTHOR_FIELDS, "author_following")
        qs._iterable_class = ArticleRows
        return cast(ArticleQuerySet, qs)

    def for_list(self, viewer: Viewer) -> ArticleQuerySet:
        return self.with_viewer(viewer, body=False).newest_first()

    def filter_list(
        self, *, tag: str = "", author: str = "", favorited: str = ""
    ) -> ArticleQuerySet:
        """Articles matching every filter given; an empty filter matches all."""
        m = _models()
        qs = self
        if tag:
            qs = qs.filter(tags__name=tag)
        if author:
            # An equality (the username is unique), so the author index is read in order.
            qs = qs.filter(author=Subquery(m.User.objects.with_username(author).values("pk")[:1]))
        if favorited:
            fans = m.User.objects.with_username(favorited).values("pk")
            qs = qs.filter(pk__in=m.Favorite.objects.filter(user__in=fans).values("article"))
        return qs

    def feed(self, viewer: User) -> ArticleQuerySet:
        """Articles by the authors `viewer` follows."""
        followed = _models().Follow.objects.filter(follower=viewer).values("followee")
        return self.filter(author__in=followed)


@dataclass(frozen=True)
class ArticleListing:
    """One list of articles as the API pages it: the global list with its filters, or a reader's
    feed. A page is fetched by its ids first, so the per-row annotations run for the page's rows
    only, however deep the offset; its exact count rides along in the same statement."""

    viewer: Viewer
    tag: str = ""
    author: str = ""
    favorited: str = ""
    feed: bool = False

    def matching(self) -> ArticleQuerySet:
        qs = _models().Article.objects.all()
        if self.feed:
            qs = qs.feed(self.viewer)
        return qs.filter_list(tag=self.tag, author=self.author, favorited=self.favorited)

    def page_ids(self, offset: int, limit: int, vendor: str) -> models.QuerySet | RawSQL:
        """The ids of a page, newest first: off an index that is already in that order, where
        there is one for this list."""
        m = _models()
        given = [name for name in ("tag", "author", "favorited") if getattr(self, name)]
        newest = ("-article_created_at", "-article")
        if self.feed and not given and vendor == "postgresql":
            # The newest offset + limit of each followed author's articles (off the author
            # index), then the page among those: the same few hundred index entries however
            # many articles there are. Django has no LATERAL join, hence the SQL.
            params = (offset + limit, self.viewer.pk, limit, offset)
            return RawSQL(FEED_PAGE_IDS, params)  # noqa: S611 (constant SQL, bound parameters)
        if not self.feed and given == ["tag"]:
            tag = Subquery(m.Tag.objects.filter(name=self.tag).values("pk")[:1])
            links = m.ArticleTag.objects.filter(tag=tag).order_by(*newest)
            return links.values("article")[offset : offset + limit]
        if not self.feed and given == ["favorited"]:
            fan = Subquery(m.User.objects.with_username(self.favorited).values("pk")[:1])
            favorites = m.Favorite.objects.filter(user=fan).order_by(*newest)
            return favorites.values("article")[offset : offset + limit]
        return self.matching().newest_first().values("pk")[offset : offset + limit]

    def total(self) -> Expression | Subquery:
        """The number of matching articles, exact, as an SQL expression: a counter row where
        one exists (the database keeps them), a count over the matching rows otherwise."""
        m = _models()
        given = [name for name in ("tag", "author", "favorited") if getattr(self, name)]
        if self.feed and not given:
            followed = m.Follow.objects.filter(follower=self.viewer)
            sums = followed.values("follower").annotate(n=Sum("followee__articles_count"))
            return Coalesce(Subquery(sums.values("n")), 0)
        if not self.feed and not given:
            # No Totals row means no article was ever written (or the tables were emptied).
            totals = m.Totals.objects.filter(pk=1).values("articles")
            return Coalesce(Subquery(totals), SubqueryCount(self.matching()))
        if not self.feed and given == ["tag"]:
            tags = m.Tag.objects.filter(name=self.tag).values("articles_count")
            return Coalesce(Subquery(tags), 0)
        if not self.feed and given == ["author"]:
            users = m.User.objects.with_username(self.author).values("articles_count")
            return Coalesce(Subquery(users), 0)
        if not self.feed and given == ["favorited"]:
            fan = Subquery(m.User.objects.with_username(self.favorited).values("pk")[:1])
            return SubqueryCount(m.Favorite.objects.filter(user=fan))
        # Other combinations are narrow: an author's articles, or one reader's favorites.
        return SubqueryCount(self.matching())

    def page(self, offset: int, limit: int) -> tuple[list[Any], int]:
        """A page of articles and the number of matching ones, in one statement (two when the
        page is empty, since then there is no row to carry the count)."""
        m = _models()
        alias = router.db_for_read(m.Article)
        viewer_id = self.viewer.pk if self.viewer.is_authenticated else None
        shape = ListShape(
            alias=alias,
            signed_in=viewer_id is not None,
            feed=self.feed,
            tag=bool(self.tag),
            author=bool(self.author),
            favorited=bool(self.favorited),
            offset=offset,
            limit=limit,
        )
        compiled = _compiled_page(shape)
        rows = compiled.rows((viewer_id, self.tag, self.author, self.favorited))
        articles = list(article_dicts(compiled.names, rows))
        if articles:
            return articles, articles[0]["total"]
        # Any row can carry the total; with no article at all it is 0.
        total = m.Article.objects.annotate(total=self.total()).values_list("total", flat=True)
        return [], total.first() or 0


@dataclass(frozen=True)
class ListShape:
    """What the SQL of a page depends on (values, such as which tag, are filled in later)."""

    alias: str
    signed_in: bool
    feed: bool
    tag: bool
    author: bool
    favorited: bool
    offset: int
    limit: int


FEED_PAGE_IDS = """
    SELECT recent.id FROM resources_follow follow
    CROSS JOIN LATERAL (
        SELECT article.id, article.created_at FROM resources_article article
        WHERE article.author_id = follow.followee_id
        ORDER BY article.created_at DESC, article.id DESC LIMIT %s
    ) recent
    WHERE follow.follower_id = %s
    ORDER BY recent.created_at DESC, recent.id DESC LIMIT %s OFFSET %s
"""

# Values no request can hold: user ids are positive; filters never contain NUL characters.
PLACEHOLDER_VIEWER_ID = -4_611_686_018_427_387_903
PLACEHOLDERS = (PLACEHOLDER_VIEWER_ID, "\x00tag\x00", "\x00author\x00", "\x00favorited\x00")


@lru_cache(maxsize=16)
def _compiled_popular_tags(alias: str) -> CompiledQuery:
    return CompiledQuery(_models().Tag.objects.using(alias).popular().values_list("name"), ())


# The columns a signed-in request may read of its user.
SIGNED_IN_USER_FIELDS = ("id", "password", "username", "email", "bio", "image", "is_active")


@lru_cache(maxsize=16)
def _compiled_active_user(alias: str) -> CompiledQuery:
    users = _models().User.objects.using(alias)
    found = users.filter(pk=PLACEHOLDER_VIEWER_ID, is_active=True).values_list(
        *SIGNED_IN_USER_FIELDS
    )
    return CompiledQuery(found[:1], (PLACEHOLDER_VIEWER_ID,))


PLACEHOLDER_ARTICLE = {"slug": "\x00slug\x00", "pk": -4_611_686_018_427_387_902}


@lru_cache(maxsize=16)
def _compiled_article(alias: str, signed_in: bool, key: str) -> CompiledQuery:
    m = _models()
    viewer: Viewer = m.User(pk=PLACEHOLDER_VIEWER_ID) if signed_in else AnonymousUser()
    placeholder = PLACEHOLDER_ARTICLE[key]
    found = m.Article.objects.using(alias).filter(**{key: placeholder}).with_viewer(viewer)
    return CompiledQuery(found[:1], (PLACEHOLDER_VIEWER_ID, placeholder))


def article_shaped(viewer: Viewer, *, slug: str | None = None, pk: int | None = None) -> Any:
    """One article, by slug or by id, in the shape `with_viewer` gives it (one statement,
    compiled once per kind of lookup); None when there is no such article."""
    key, value = ("slug", slug) if slug is not None else ("pk", pk)
    alias = router.db_for_read(_models().Article)
    viewer_id = viewer.pk if viewer.is_authenticated else None
    compiled = _compiled_article(alias, viewer_id is not None, key)
    rows = compiled.rows((viewer_id, value))
    return next(article_dicts(compiled.names, rows), None)


# Shapes differ by offset and limit too; the most used stay compiled.
@lru_cache(maxsize=256)
def _compiled_page(shape: ListShape) -> CompiledQuery:
    m = _models()
    viewer: Viewer = m.User(pk=PLACEHOLDER_VIEWER_ID) if shape.signed_in else AnonymousUser()
    listing = ArticleListing(
        viewer,
        tag=PLACEHOLDERS[1] if shape.tag else "",
        author=PLACEHOLDERS[2] if shape.author else "",
        favorited=PLACEHOLDERS[3] if shape.favorited else "",
        feed=shape.feed,
    )
    ids = listing.page_ids(shape.offset, shape.limit, connections[shape.alias].vendor)
    queryset = (
        m.Article.objects.using(shape.alias)
        .for_list(viewer)
        .filter(pk__in=ids)
        .annotate(total=listing.total())
    )
    return CompiledQuery(queryset, PLACEHOLDERS)


class CommentQuerySet(models.QuerySet):
    def with_viewer(self, viewer: Viewer) -> CommentQuerySet:
        qs = (
            self.select_related("author")
            .only("article_id", "body", "created_at", "updated_at", *AUTHOR_FIELDS)
            .annotate(author_following=_is_following(viewer, "author_id"))
            .order_by("created_at", "id")
        )
        qs._iterable_class = _AuthorFollowingIterable
        return qs
