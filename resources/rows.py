"""The typed rows that reads answer with: an article and its author, as the response shapes read
them.

`ArticleRow` is the one declaration of what an article read returns. The read query selects its
columns from these keys (resources/querysets.py), and tests/test_rows.py fails when a response
template reads a key that is not here, or this declares one no template reads.
"""

# No `from __future__ import annotations` here: TypedDict must see NotRequired at run time.
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, NotRequired, TypedDict, cast


class AuthorRow(TypedDict):
    username: str
    bio: str
    image: str | None
    # Whether the reader follows the author: an annotation, not a column.
    following: bool


class ArticleRow(TypedDict):
    slug: str
    title: str
    description: str
    # Single articles only: list items leave the body out, and its HTML.
    body: NotRequired[str]
    body_html: NotRequired[str]
    reading_time_minutes: int
    status: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    favorites_count: int
    # Annotations, computed per reader or from other tables in the same statement.
    tag_names: list[str]
    favorited: bool
    author: AuthorRow


# Keys of the rows that are computed in the query rather than read from a column.
ARTICLE_ANNOTATIONS = frozenset({"tag_names", "favorited", "author"})
AUTHOR_ANNOTATIONS = frozenset({"following"})
# Where `author.following` travels in a flat row of columns.
AUTHOR_FOLLOWING = "author_following"
AUTHOR_PREFIX = "author__"


def article_columns(*, body: bool) -> list[str]:
    """The Article columns an article row reads, in ArticleRow's order; `body` and its HTML
    only when asked for."""
    return [
        name
        for name in ArticleRow.__annotations__
        if name not in ARTICLE_ANNOTATIONS and (body or name not in ArticleRow.__optional_keys__)
    ]


def author_columns() -> list[str]:
    """The author's columns an article row reads, as lookups from the article."""
    return [
        f"{AUTHOR_PREFIX}{name}"
        for name in AuthorRow.__annotations__
        if name not in AUTHOR_ANNOTATIONS
    ]


def article_rows(names: list[str], rows: Iterable[tuple]) -> Iterator[ArticleRow]:
    """Flat tuples of the named columns as article rows, `author` nested with `following`.
    Columns named neither as the article's nor the author's (such as a page's total) are left
    out."""
    article_keys = ArticleRow.__annotations__.keys()
    author = [
        (i, name.removeprefix(AUTHOR_PREFIX))
        for i, name in enumerate(names)
        if name.startswith(AUTHOR_PREFIX)
    ]
    author.append((names.index(AUTHOR_FOLLOWING), "following"))
    own = [(i, name) for i, name in enumerate(names) if name in article_keys]
    for row in rows:
        article: dict[str, Any] = {name: row[i] for i, name in own}
        article["author"] = {name: row[i] for i, name in author}
        yield cast(ArticleRow, article)


def written_article_row(article: Any, *, tag_names: list[str]) -> ArticleRow:
    """A new article as its author reads it, from the row just written (an Article instance and
    the names it was tagged with): no favorites yet, and its author is the reader, who cannot
    follow themselves. The same keys as a read; one statement fewer than reading it back."""
    row: dict[str, Any] = {name: getattr(article, name) for name in article_columns(body=True)}
    author = article.author
    row.update(
        tag_names=sorted(tag_names),
        favorited=False,
        author={
            **{
                name: getattr(author, name)
                for name in AuthorRow.__annotations__
                if name not in AUTHOR_ANNOTATIONS
            },
            "following": False,
        },
    )
    return cast(ArticleRow, row)
