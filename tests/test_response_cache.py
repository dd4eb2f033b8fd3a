"""The shared response cache of anonymous reads: what it covers, exact freshness after writes,
304 without the database, fail-open when the cache is down, hits answered in front of Django
alike; in-process and on Redis."""

import io
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.utils.datastructures import CaseInsensitiveMapping

from api_project.wsgi import django_application
from resources import response_cache
from resources.authentication import token_issue
from resources.cached_reads import CachedReadsApplication
from resources.models import Article, Favorite
from tests import recipes
from tests.clients import client_for

pytestmark = pytest.mark.django_db

REDIS_DOWN = {
    "BACKEND": "django_redis.cache.RedisCache",
    # Nothing listens on port 1: every call fails at once, and is ignored.
    "LOCATION": "redis://127.0.0.1:1/0",
    "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5},
}


@pytest.fixture(params=["in-process", "redis"])
def cached(request, settings):
    """The response cache on, over the in-process cache and over Redis."""
    if request.param == "redis":
        space = request.getfixturevalue("redis")
        settings.CACHES = {"default": space.cache_settings()}
    settings.RESPONSE_CACHE = True
    response_cache._bump_owed = False
    yield
    response_cache._bump_owed = False


@pytest.fixture
def article(user):
    article = recipes.article.make(author=user, slug="how-to-train-your-dragon")
    recipes.comment.make(article=article)
    return article


def headers(response):
    """Every header but the request's own id."""
    return sorted((n, v) for n, v in response.items() if n != "X-Request-ID")


def anonymous_paths(article):
    return [
        "/api/articles",
        "/api/articles?limit=5&offset=0",
        f"/api/articles?author={article.author.username}",
        f"/api/articles/{article.slug}",
        f"/api/articles/{article.slug}/comments",
        "/api/tags",
        f"/api/profiles/{article.author.username}",
    ]


def test_anonymous_reads_are_answered_from_the_cache_alike(
    cached, api, article, django_assert_num_queries
):
    for path in anonymous_paths(article):
        first = api.get(path)
        with django_assert_num_queries(0):
            again = api.get(path)
            head = api.head(path)
            revalidated = api.get(path, HTTP_IF_NONE_MATCH=first["ETag"])

        assert first.status_code == again.status_code == head.status_code == 200, path
        assert again.content == first.content, path
        assert headers(again) == headers(first), path
        assert head.content == b"", path
        assert head["ETag"] == first["ETag"], path
        assert revalidated.status_code == 304, path
        for name in ("ETag", "Cache-Control", "Vary"):
            assert revalidated[name] == first[name], (path, name)


def test_a_write_through_the_api_is_seen_by_the_next_anonymous_read(
    cached, api, other_api, article
):
    path = f"/api/articles/{article.slug}"
    before = api.get(path)
    assert before.json()["article"]["favoritesCount"] == 0

    other_api.post(f"{path}/favorite")
    after = api.get(path)

    assert after.json()["article"]["favoritesCount"] == 1
    assert after["ETag"] != before["ETag"]
    assert api.get(path, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 200
    listed = api.get("/api/articles").json()["articles"][0]
    assert listed["favoritesCount"] == 1


def test_every_kind_of_write_makes_entries_stale(cached, api, user_api, article):
    comments = f"/api/articles/{article.slug}/comments"
    api.get(comments)
    user_api.post(comments, {"comment": {"body": "Second."}}, format="json")
    assert len(api.get(comments).json()["comments"]) == 2

    api.get("/api/tags")
    user_api.post(
        "/api/articles",
        {"article": {"title": "T", "description": "D", "body": "B", "tagList": ["new"]}},
        format="json",
    )
    assert "new" in api.get("/api/tags").json()["tags"]

    profile = f"/api/profiles/{article.author.username}"
    api.get(profile)
    user_api.put("/api/user", {"user": {"bio": "Changed."}}, format="json")
    assert api.get(profile).json()["profile"]["bio"] == "Changed."

    api.get(f"/api/articles/{article.slug}")
    user_api.delete(f"/api/articles/{article.slug}")
    assert api.get(f"/api/articles/{article.slug}").status_code == 404


def test_a_write_acknowledged_after_the_read_began_leaves_its_entry_unread(
    cached, api, article, django_assert_num_queries
):
    # The race the version guards against: the read took version v, a write commits and bumps
    # to v+1 while the read queries, the read stores what it found under v. Nobody reads v again.
    path = "/api/tags"
    bumped: list[bool] = []

    def bump_during_the_query(execute, sql, params, many, context):
        if not bumped:
            bumped.append(response_cache.bump_version())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(bump_during_the_query):
        api.get(path)

    assert bumped == [True]
    with django_assert_num_queries(1):
        api.get(path)
    with django_assert_num_queries(0):
        api.get(path)


def test_signed_in_reads_the_feed_and_errors_are_not_cached(cached, api, user_api, article):
    for path in ("/api/articles", "/api/articles/feed"):
        user_api.get(path)
        with CaptureQueriesContext(connection) as again:
            user_api.get(path)
        assert len(again.captured_queries) > 0, path

    assert api.get("/api/articles/not-yet").status_code == 404
    Article.objects.filter(pk=article.pk).update(slug="not-yet")
    assert api.get("/api/articles/not-yet").status_code == 200


def test_a_malformed_authorization_header_is_not_answered_from_the_cache(cached, api, article):
    api.get("/api/tags")

    response = api.get("/api/tags", HTTP_AUTHORIZATION="Token nonsense")

    assert response.status_code == 401


def test_drafts_stay_their_authors(cached, api, user_api, user):
    created = user_api.post(
        "/api/articles",
        {"article": {"title": "Secret", "description": "D", "body": "B", "status": "draft"}},
        format="json",
    )
    slug = created.json()["article"]["slug"]

    assert user_api.get(f"/api/articles/{slug}").status_code == 200
    assert api.get(f"/api/articles/{slug}").status_code == 404
    assert user_api.get(f"/api/articles/{slug}").status_code == 200


def test_the_cache_can_be_switched_off(settings, api, article, django_assert_num_queries):
    settings.RESPONSE_CACHE = False
    api.get("/api/tags")

    with django_assert_num_queries(1):
        api.get("/api/tags")


def test_with_the_cache_down_reads_and_writes_are_answered_uncached(
    settings, api, other_user, article, caplog
):
    settings.CACHES = {"default": REDIS_DOWN}
    settings.RESPONSE_CACHE = True
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS)
    path = f"/api/articles/{article.slug}"
    try:
        assert api.get(path).status_code == 200
        favorited = client_for(other_user).post(f"{path}/favorite")
        assert favorited.status_code == 200
        # The version could not be bumped: this process reads nothing cached until it can.
        assert response_cache._bump_owed
        assert "could not be bumped" in caplog.text
        assert api.get(path).json()["article"]["favoritesCount"] == 1
    finally:
        response_cache._bump_owed = False


def test_a_process_that_could_not_bump_reads_nothing_cached_until_it_can(
    cached, api, article, monkeypatch, django_assert_num_queries
):
    api.get("/api/tags")
    response_cache._bump_owed = True
    bumps: list[str] = []

    def unreachable(key: str) -> None:
        bumps.append(key)

    monkeypatch.setattr(response_cache.cache, "incr", unreachable)

    with django_assert_num_queries(1):
        api.get("/api/tags")
    monkeypatch.undo()
    with django_assert_num_queries(1):
        api.get("/api/tags")  # bumped at last: the entry before it is stale
    with django_assert_num_queries(0):
        api.get("/api/tags")
    assert len(bumps) == 1


def test_a_lost_version_starts_above_every_earlier_one(cached, api, article):
    api.get("/api/tags")
    before = response_cache.current_version()
    response_cache.cache.delete(response_cache.VERSION_KEY)

    after = response_cache.current_version()
    assert before is not None
    assert after is not None
    assert after > before


def test_writes_past_the_api_are_made_visible_by_a_command(cached, api, other_user, article):
    # A shell or a script writes without the API's bump; `response_cache_bump` does it.
    path = f"/api/articles/{article.slug}"
    api.get(path)
    Favorite.objects.create(user=other_user, article=article)
    assert api.get(path).json()["article"]["favoritesCount"] == 0

    call_command("response_cache_bump", stdout=io.StringIO())

    assert api.get(path).json()["article"]["favoritesCount"] == 1


def test_the_command_fails_loudly_when_the_cache_is_down(settings):
    settings.CACHES = {"default": REDIS_DOWN}
    try:
        with pytest.raises(CommandError, match="unreachable"):
            call_command("response_cache_bump", stdout=io.StringIO())
    finally:
        response_cache._bump_owed = False


# --- Hits answered in front of Django (resources/cached_reads.py) -----------------------------


class Served:
    """A WSGI application called as gunicorn calls it, counting what reaches Django."""

    def __init__(self) -> None:
        self.reached_django = 0

    def django(self, environ, start_response):
        self.reached_django += 1
        return django_application(environ, start_response)

    def __call__(self, path, method="GET", application=None, **headers):
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.9",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            **{f"HTTP_{name}": value for name, value in headers.items()},
        }
        if "HTTP_CONTENT_LENGTH" in environ:
            environ["CONTENT_LENGTH"] = environ.pop("HTTP_CONTENT_LENGTH")
        answered: dict[str, Any] = {}

        def start_response(status, response_headers, exc_info=None):
            answered["status"], answered["headers"] = int(status[:3]), response_headers

        application = application or CachedReadsApplication(self.django)
        chunks = application(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return answered["status"], CaseInsensitiveMapping(answered["headers"]), body


@pytest.fixture
def served() -> Iterator[Served]:
    # As the test client does: the test's transaction holds the connection, which Django would
    # otherwise close at the request's edges.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Served()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def without_request_id(headers):
    return {name.lower(): value for name, value in headers.items() if name != "X-Request-ID"}


ORIGIN = "https://app.example"


def test_a_hit_in_front_of_django_is_answered_as_django_answers_it(
    cached, served, article, django_assert_num_queries
):
    for path in anonymous_paths(article):
        for headers in ({}, {"ORIGIN": ORIGIN}):
            first = served(path, **headers)
            etag = first[1]["ETag"]
            variants = [("GET", {}), ("HEAD", {}), ("GET", {"IF_NONE_MATCH": etag})]
            for method, more in variants:
                reached = served.reached_django
                with django_assert_num_queries(0):
                    in_front = served(path, method, **headers, **more)
                    through_django = served(path, method, django_application, **headers, **more)
                assert served.reached_django == reached, (path, method)
                assert in_front[0] == through_django[0], (path, method)
                assert in_front[2] == through_django[2], (path, method)
                assert without_request_id(in_front[1]) == without_request_id(through_django[1])
            status, response_headers, body = served(path, **headers)
            assert (status, without_request_id(response_headers), body) == (
                first[0],
                without_request_id(first[1]),
                first[2],
            ), path


def test_a_hit_in_front_of_django_answers_304_and_head_like_the_uncached_api(
    cached, served, article
):
    path = f"/api/articles/{article.slug}"
    first = served(path, ORIGIN=ORIGIN)
    served(path, ORIGIN=ORIGIN)  # stored

    revalidated = served(path, ORIGIN=ORIGIN, IF_NONE_MATCH=first[1]["ETag"])
    head = served(path, "HEAD", ORIGIN=ORIGIN)

    assert revalidated[0] == 304
    assert revalidated[2] == b""
    for name in ("ETag", "Cache-Control", "Vary", "Access-Control-Allow-Origin"):
        assert revalidated[1][name] == first[1][name], name
    assert "Content-Type" not in revalidated[1]
    assert head[0] == 200
    assert head[2] == b""
    assert head[1]["Content-Length"] == str(len(first[2]))
    assert without_request_id(head[1]) == without_request_id(first[1])


def test_each_origin_gets_its_own_entry(cached, served, article):
    served("/api/tags", ORIGIN=ORIGIN)
    served("/api/tags", ORIGIN=ORIGIN)

    _, with_origin, _ = served("/api/tags", ORIGIN=ORIGIN)
    _, without_origin, _ = served("/api/tags")

    assert "Access-Control-Allow-Origin" in with_origin
    assert "Access-Control-Allow-Origin" not in without_origin


def test_a_hit_in_front_of_django_has_its_request_id_and_access_log_line(
    cached, served, article, caplog
):
    served("/api/tags")
    served("/api/tags")
    reached = served.reached_django
    caplog.clear()

    with caplog.at_level(logging.INFO, logger="conduit.request"):
        _, given, _ = served("/api/tags", X_REQUEST_ID="front-hit-1")
        _, made, _ = served("/api/tags")

    assert served.reached_django == reached
    assert given["X-Request-ID"] == "front-hit-1"
    assert len(made["X-Request-ID"]) == 32
    lines = {r.request_id: r for r in caplog.records if r.name == "conduit.request"}
    assert set(lines) == {"front-hit-1", made["X-Request-ID"]}
    line = lines["front-hit-1"]
    assert (line.method, line.path, line.status, line.client_ip, line.user_id) == (
        "GET",
        "/api/tags",
        200,
        "127.0.0.9",
        None,
    )


def test_a_miss_looks_the_cache_up_once(cached, served, article, monkeypatch):
    lookups = []
    real_lookup = response_cache.lookup

    def counted(meta):
        lookups.append(meta["PATH_INFO"])
        return real_lookup(meta)

    monkeypatch.setattr(response_cache, "lookup", counted)

    served("/api/tags")

    assert lookups == ["/api/tags"]
    assert served.reached_django == 1


def test_what_the_cache_does_not_answer_goes_to_django(cached, served, settings, user, article):
    token = f"Token {token_issue(user=user)}"
    for path in ("/api/tags", "/api/articles"):
        served(path)
        served(path, AUTHORIZATION=token)
    reached = served.reached_django

    served("/api/articles", AUTHORIZATION=token)
    served("/api/articles/feed", AUTHORIZATION=token)
    served("/api/user", AUTHORIZATION=token)
    assert served.reached_django == reached + 3

    # A body announced on a covered read is the body-size guard's to refuse, cached or not.
    status, _, _ = served("/api/tags", CONTENT_LENGTH=str(settings.MAX_REQUEST_BODY_BYTES + 1))
    assert status == 413

    # With metrics on, every request goes through the metrics middleware.
    settings.METRICS_ENABLED = True
    reached = served.reached_django
    assert served("/api/tags")[0] == 200
    assert served.reached_django == reached + 1


def test_with_the_cache_down_the_front_hands_every_read_to_django(settings, served, article):
    settings.CACHES = {"default": REDIS_DOWN}
    settings.RESPONSE_CACHE = True
    try:
        for _ in range(2):
            status, _, body = served(f"/api/articles/{article.slug}")
            assert status == 200
            assert article.slug.encode() in body
        assert served.reached_django == 2
    finally:
        response_cache._bump_owed = False
