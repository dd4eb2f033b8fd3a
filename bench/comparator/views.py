"""Hand-written views: each read is one SQL statement (the viewer's token check, the page, the
count and every annotation at once), rows are turned into dicts by hand and rendered by orjson,
byte for byte the JSON Conduit API answers. Public lists hold published articles only; a single
article is published or the reader's own. Writes take two statements: the viewer, then one
statement that inserts the article, upserts its tags, links them and reads it back; the body's
Markdown is rendered with the API's own renderer first, as the API does when it writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
import orjson
from anyascii import anyascii
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import urlencode
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt

from resources.cursors import Position, encode
from resources.markdown import markdown_render, reading_time_minutes

ARTICLE_COLUMNS = """
    a.slug, a.title, a.description, a.reading_time_minutes, a.status, a.created_at,
    a.updated_at, a.published_at, a.favorites_count, u.username, u.bio, u.image,
    ARRAY(SELECT t.name FROM resources_articletag x JOIN resources_tag t ON t.id = x.tag_id
          WHERE x.article_id = a.id) AS tags,
    EXISTS(SELECT 1 FROM resources_favorite f WHERE f.article_id = a.id AND f.user_id = %(viewer)s),
    EXISTS(SELECT 1 FROM resources_follow o WHERE o.follower_id = %(viewer)s
           AND o.followee_id = a.author_id)
"""

VIEWER_PASSWORD = (
    "(SELECT password FROM resources_user WHERE id = %(viewer)s AND is_active) AS viewer_password"
)

# The page's ids first, then the page with everything it shows, and the count, in one statement.
# Public lists hold published articles only, newest publication first.
LIST = f"""
WITH page AS (
    SELECT a.id FROM resources_article a WHERE a.status = 'published' {{where}}
    ORDER BY a.published_at DESC, a.id DESC LIMIT %(limit)s OFFSET %(offset)s
)
SELECT c.total, {VIEWER_PASSWORD}, rows.* FROM ({{count}}) c(total)
LEFT JOIN (
    SELECT {ARTICLE_COLUMNS}, a.id AS article_id
    FROM page JOIN resources_article a ON a.id = page.id
    JOIN resources_user u ON u.id = a.author_id
) rows ON true
ORDER BY rows.published_at DESC, rows.article_id DESC
"""

GLOBAL_COUNT = "SELECT articles FROM resources_totals WHERE id = 1"
TAG_WHERE = """AND a.id IN (SELECT x.article_id FROM resources_articletag x
    JOIN resources_tag t ON t.id = x.tag_id WHERE t.name = %(tag)s)"""
TAG_COUNT = """SELECT coalesce((SELECT articles_count FROM resources_tag
    WHERE name = %(tag)s), 0)"""
FEED_WHERE = """AND a.author_id IN (SELECT followee_id FROM resources_follow
    WHERE follower_id = %(viewer)s)"""
FEED_COUNT = """SELECT coalesce(sum(u.articles_count), 0) FROM resources_follow o
    JOIN resources_user u ON u.id = o.followee_id WHERE o.follower_id = %(viewer)s"""

# Search, as resources/search.py has PostgreSQL do it: the weighted vectors matched against the
# search box's text, ranked by tier (the whole query in the title, then in the title, description
# and tags, then anywhere: search_head holds the first two), newest first within a tier; the count
# of every match alongside.
# The query is a scalar subquery, as the API writes it: parsed once per statement, not per row.
QUERY = "(SELECT websearch_to_tsquery(conduit_search_config(), unaccent(%(search)s)))"
MATCH = f"(a.search_vector || a.search_tags) @@ {QUERY}"
TIER = f"""CASE WHEN ts_filter(a.search_head, '{{a}}') @@ {QUERY} THEN 3
    WHEN a.search_head @@ {QUERY} THEN 2 ELSE 1 END"""
SEARCH = f"""
WITH page AS (
    SELECT a.id, {TIER} AS tier FROM resources_article a
    WHERE a.status = 'published' AND {MATCH}
    ORDER BY tier DESC, a.published_at DESC, a.id DESC LIMIT %(limit)s OFFSET %(offset)s
)
SELECT c.total, {VIEWER_PASSWORD}, rows.* FROM (
    SELECT count(*) FROM resources_article a WHERE a.status = 'published' AND {MATCH}
) c(total)
LEFT JOIN (
    SELECT {ARTICLE_COLUMNS}, a.id AS article_id, page.tier
    FROM page JOIN resources_article a ON a.id = page.id
    JOIN resources_user u ON u.id = a.author_id
) rows ON true
ORDER BY rows.tier DESC, rows.published_at DESC, rows.article_id DESC
"""

# A reader reaches published articles and their own drafts; their own first when a draft of
# theirs shares its slug with someone else's published article.
DETAIL = f"""
SELECT {VIEWER_PASSWORD}, {ARTICLE_COLUMNS}, a.body, a.body_html
FROM resources_article a JOIN resources_user u ON u.id = a.author_id
WHERE a.slug = %(slug)s AND (a.status = 'published' OR a.author_id = %(viewer)s)
ORDER BY a.author_id IS NOT DISTINCT FROM %(viewer)s DESC LIMIT 1
"""

TAGS = """SELECT name FROM resources_tag WHERE articles_count > 0
    ORDER BY articles_count DESC, name LIMIT 100"""

CREATE = """
WITH article AS (
    INSERT INTO resources_article
        (slug, title, description, body, body_html, reading_time_minutes, author_id, status,
         created_at, updated_at, published_at, favorites_count)
    VALUES (%(slug)s, %(title)s, %(description)s, %(body)s, %(body_html)s, %(reading_time)s,
        %(viewer)s, %(status)s, now(), now(),
        CASE WHEN %(status)s = 'published' THEN now() END, 0)
    RETURNING *
), tag AS (
    INSERT INTO resources_tag (name, articles_count) SELECT unnest(%(tags)s::text[]), 0
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id, name
), link AS (
    INSERT INTO resources_articletag (article_id, tag_id)
    SELECT article.id, tag.id FROM article, tag RETURNING tag_id
)
SELECT a.slug, a.title, a.description, a.reading_time_minutes, a.status, a.created_at,
    a.updated_at, a.published_at, a.favorites_count, u.username, u.bio, u.image,
    ARRAY(SELECT name FROM tag), false, false, a.body, a.body_html
FROM article a JOIN resources_user u ON u.id = a.author_id
"""


def _json(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> HttpResponse:
    return _json({"errors": {"body": [message]}}, status)


def _timestamp(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def _token(request: HttpRequest) -> tuple[int | None, str | None]:
    """(viewer id, password fingerprint) from the Authorization header; (None, None) when
    anonymous; raises ValueError for a bad token."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None, None
    keyword, _, token = header.partition(" ")
    if keyword.lower() not in ("token", "bearer"):
        raise ValueError
    claims = jwt.decode(token, settings.TOKEN_SIGNING_KEY, algorithms=["HS256"])
    return int(claims["sub"]), claims["pwd"]


def _signed_in(fingerprint: str | None, password: str | None) -> bool:
    if fingerprint is None:
        return True
    if password is None:
        return False
    expected = salted_hmac("conduit.token.password", password, algorithm="sha256").hexdigest()
    return constant_time_compare(fingerprint, expected[:24])


def _article(row: tuple, *, single: bool = False) -> dict[str, Any]:
    """An article's JSON from its row; `single` adds the body and its HTML, which follow the
    columns of ARTICLE_COLUMNS in the row."""
    (
        slug,
        title,
        description,
        reading_time,
        status,
        created,
        updated,
        published,
        favorites,
        username,
        bio,
        image,
        tags,
        favorited,
        following,
    ) = row[:15]
    article: dict[str, Any] = {"slug": slug, "title": title, "description": description}
    if single:
        article["body"], article["bodyHtml"] = row[15], row[16]
    article.update(
        readingTimeMinutes=reading_time,
        tagList=sorted(tags),
        status=status,
        createdAt=_timestamp(created),
        updatedAt=_timestamp(updated),
        publishedAt=None if published is None else _timestamp(published),
        favorited=favorited,
        favoritesCount=favorites,
        author={"username": username, "bio": bio, "image": image, "following": following},
    )
    return article


PUBLISHED_AT = 7  # the column of ARTICLE_COLUMNS


def _page(request: HttpRequest) -> tuple[int, int]:
    limit = min(int(request.GET.get("limit", 20)), 100)
    offset = int(request.GET.get("offset", 0))
    if limit < 1 or offset < 0:
        raise ValueError
    return limit, offset


def _list(request: HttpRequest, sql: str, extra: dict[str, Any]) -> HttpResponse:
    try:
        viewer, fingerprint = _token(request)
        limit, offset = _page(request)
    except (ValueError, KeyError, jwt.InvalidTokenError):
        return _error(422, "Bad request.")
    params = {"viewer": viewer, "limit": limit, "offset": offset, **extra}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not _signed_in(fingerprint, rows[0][1]):
        return _error(401, "Invalid token.")
    articles = [_article(row[2:]) for row in rows if row[2] is not None]
    total = rows[0][0] or 0
    # The next page, as the API says where it starts: the cursor of the last article (signed by
    # the API's own resources/cursors.py, as its Markdown is rendered by the API's renderer), and
    # a Link header; a search pages by offset.
    next_cursor: str | None = None
    link = None
    if offset + len(articles) < total and articles:
        query: dict[str, str] = {
            name: str(value)
            for name, value in request.GET.items()
            if name not in ("offset", "cursor")
        }
        if extra.get("search"):
            query["offset"] = str(offset + len(articles))
        else:
            last = rows[-1]
            next_cursor = encode(Position("published", last[2 + PUBLISHED_AT], last[-1]))
            query["cursor"] = next_cursor
        link = f'<{request.path}?{urlencode(sorted(query.items()))}>; rel="next"'
    response = _json({"articles": articles, "articlesCount": total, "nextCursor": next_cursor})
    if link:
        response["Link"] = link
    return response


@csrf_exempt
def articles(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return create(request)
    search = request.GET.get("search")
    if search:
        return _list(request, SEARCH, {"search": search})
    tag = request.GET.get("tag")
    if tag:
        return _list(request, LIST.format(where=TAG_WHERE, count=TAG_COUNT), {"tag": tag})
    return _list(request, LIST.format(where="", count=GLOBAL_COUNT), {})


def feed(request: HttpRequest) -> HttpResponse:
    if "HTTP_AUTHORIZATION" not in request.META:
        return _error(401, "Authentication credentials were not provided.")
    return _list(request, LIST.format(where=FEED_WHERE, count=FEED_COUNT), {})


def article(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        viewer, fingerprint = _token(request)
    except (ValueError, KeyError, jwt.InvalidTokenError):
        return _error(401, "Invalid token.")
    with connection.cursor() as cursor:
        cursor.execute(DETAIL, {"viewer": viewer, "slug": slug})
        row = cursor.fetchone()
    if row is None:
        return _error(404, "No Article matches the given query.")
    if not _signed_in(fingerprint, row[0]):
        return _error(401, "Invalid token.")
    return _json({"article": _article(row[1:], single=True)})


def tags(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(TAGS)
        return _json({"tags": [name for (name,) in cursor.fetchall()]})


def create(request: HttpRequest) -> HttpResponse:
    try:
        viewer, fingerprint = _token(request)
        fields = orjson.loads(request.body)["article"]
        title, description, body = fields["title"], fields["description"], fields["body"]
        status = fields.get("status", "published")
        if status not in ("draft", "published"):
            raise ValueError
        tag_names = sorted({t.strip() for t in fields.get("tagList", []) if t.strip()})
    except (ValueError, KeyError, TypeError, jwt.InvalidTokenError):
        return _error(422, "Bad request.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM resources_user WHERE id = %s AND is_active", [viewer])
        found = cursor.fetchone()
        if viewer is None or not _signed_in(fingerprint, found and found[0]):
            return _error(401, "Invalid token.")
        cursor.execute(
            CREATE,
            {
                "viewer": viewer,
                "slug": slugify(anyascii(title))[:248].strip("-_"),
                "title": title,
                "description": description,
                "body": body,
                # The API renders the body when it is written: part of the work of a create.
                "body_html": markdown_render(body),
                "reading_time": reading_time_minutes(body),
                "status": status,
                "tags": tag_names,
            },
        )
        row = cursor.fetchone()
    return _json({"article": _article(row, single=True)}, status=201)
