"""Reads: every query the API answers with, and the viewer-aware annotations on them.

List, feed, detail and write responses all read through these querysets, so `favorited`,
`favoritesCount` and `author.following` are computed one way, in SQL, for every response.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from django.db import models
from django.db.models import Exists, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Lower
from django.db.models.query import ModelIterable

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

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


class NameList(Subquery):
    """The values of a one-column subquery as a list, within the outer query's own row, so an
    article and its tags come back in one statement, whatever the page size."""

    output_field = _NameListField()
    template = "ARRAY(%(subquery)s)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = '(SELECT json_group_array("name") FROM (%(subquery)s))'
        return self.as_sql(compiler, connection, template=template, **extra)


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


class TagQuerySet(models.QuerySet):
    def popular(self) -> TagQuerySet:
        """Tags in use, most used first, then by name (read off the tag_popular_idx index)."""
        return self.filter(articles_count__gt=0).order_by("-articles_count", "name")[:TAGS_LISTED]


# The profile fields an article or comment shows of its author; nothing else is read.
AUTHOR_FIELDS = ("author__username", "author__bio", "author__image")


class ArticleQuerySet(models.QuerySet):
    def newest_first(self) -> ArticleQuerySet:
        return self.order_by("-created_at", "-id")

    def with_viewer(self, viewer: Viewer) -> ArticleQuerySet:
        """Every field of the article shape in one statement: author, tag names (sorted),
        favoritesCount (a counter column), and the viewer's `favorited` and
        `author.following`."""
        m = _models()
        if viewer.is_authenticated:
            mine = m.Favorite.objects.filter(article=OuterRef("pk"), user=viewer)
            favorited: Exists | Value = Exists(mine)
        else:
            favorited = Value(False)
        tag_names = m.Tag.objects.filter(articles=OuterRef("pk")).order_by().values("name")
        fields = [f.name for f in m.Article._meta.concrete_fields if f.name != "author"]
        qs = (
            self.select_related("author")
            .only(*fields, *AUTHOR_FIELDS)
            .annotate(
                tag_names=NameList(tag_names),
                favorited=favorited,
                author_following=_is_following(viewer, "author_id"),
            )
        )
        qs._iterable_class = _AuthorFollowingIterable
        return qs

    def for_list(self, viewer: Viewer) -> ArticleQuerySet:
        """List items carry no body, so it is never read."""
        return self.with_viewer(viewer).defer("body").newest_first()

    def filter_list(
        self, *, tag: str = "", author: str = "", favorited: str = ""
    ) -> ArticleQuerySet:
        """Articles matching every filter given; an empty filter matches all."""
        m = _models()
        qs = self
        if tag:
            qs = qs.filter(tags__name=tag)
        if author:
            qs = qs.filter(author__in=m.User.objects.with_username(author).values("pk"))
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
    feed. It counts exactly but cheaply (a counter row where one exists) and fetches a page by
    its ids first, so the per-row annotations run for the page's rows only, however deep the
    offset."""

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

    def count(self) -> int:
        m = _models()
        only = [name for name in ("tag", "author", "favorited") if getattr(self, name)]
        if self.feed and not only:
            followed = m.Follow.objects.filter(follower=self.viewer).values("followee")
            counts = m.User.objects.filter(pk__in=followed).aggregate(n=Sum("articles_count"))
            return counts["n"] or 0
        if not self.feed and not only:
            total = m.Totals.objects.filter(pk=1).values_list("articles", flat=True).first()
            # No row yet means no article was ever written (or the table was emptied).
            return total if total is not None else self.matching().count()
        if not self.feed and only == ["tag"]:
            tags = m.Tag.objects.filter(name=self.tag).values_list("articles_count", flat=True)
            return tags.first() or 0
        if not self.feed and only == ["author"]:
            users = m.User.objects.with_username(self.author)
            return users.values_list("articles_count", flat=True).first() or 0
        # Other combinations are narrow: an author's articles, or one reader's favorites.
        return self.matching().count()

    def page(self, offset: int, limit: int) -> list[Any]:
        ids = self.matching().newest_first().values("pk")[offset : offset + limit]
        return list(_models().Article.objects.for_list(self.viewer).filter(pk__in=ids))


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
