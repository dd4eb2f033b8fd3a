"""Reads: every query the API answers with, and the viewer-aware annotations on them.

List, feed, detail and write responses all read through these querysets, so `favorited`,
`favoritesCount` and `author.following` are computed one way, in SQL, for every response.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

from django.db import models
from django.db.models import Count, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Lower
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
        """Tags in use, most used first, then by name."""
        return (
            self.annotate(uses=Count("articles"))
            .filter(uses__gt=0)
            .order_by("-uses", "name")[:TAGS_LISTED]
        )


class ArticleQuerySet(models.QuerySet):
    def newest_first(self) -> ArticleQuerySet:
        return self.order_by("-created_at", "-id")

    def with_viewer(self, viewer: Viewer) -> ArticleQuerySet:
        """Every field of the article shape in one statement: author, tag names (sorted),
        favoritesCount, and the viewer's `favorited` and `author.following`."""
        m = _models()
        favorites = m.Favorite.objects.filter(article=OuterRef("pk"))
        count = favorites.order_by().values("article").annotate(n=Count("*")).values("n")
        if viewer.is_authenticated:
            favorited: Exists | Value = Exists(favorites.filter(user=viewer))
        else:
            favorited = Value(False)
        tag_names = m.Tag.objects.filter(articles=OuterRef("pk")).order_by().values("name")
        qs = self.select_related("author").annotate(
            tag_names=NameList(tag_names),
            favorites_count=Coalesce(Subquery(count), 0),
            favorited=favorited,
            author_following=_is_following(viewer, "author_id"),
        )
        qs._iterable_class = _AuthorFollowingIterable
        return qs

    def for_list(self, viewer: Viewer) -> ArticleQuerySet:
        """List items carry no body, so it is never read."""
        return self.with_viewer(viewer).defer("body").newest_first()

    def filter_list(
        self, *, tag: str | None, author: str | None, favorited: str | None
    ) -> ArticleQuerySet:
        """Articles matching every filter given; an empty or missing filter matches all."""
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


class CommentQuerySet(models.QuerySet):
    def with_viewer(self, viewer: Viewer) -> CommentQuerySet:
        qs = (
            self.select_related("author")
            .annotate(author_following=_is_following(viewer, "author_id"))
            .order_by("created_at", "id")
        )
        qs._iterable_class = _AuthorFollowingIterable
        return qs
