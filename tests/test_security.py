"""The adversarial suite, organised by the OWASP API Security Top 10 (2023).

API2 (broken authentication) is tests/test_auth.py; concurrency on PostgreSQL is
tests/test_concurrency.py; hostile input is tests/test_hostile_input.py."""

import json
import threading

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from resources.models import Article, Comment, Favorite, Follow, User
from tests import recipes
from tests.clients import client_for, http_client
from tests.recipes import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def steady_clock(monkeypatch):
    """Rate limits count in fixed windows; a test must not straddle two of them."""
    monkeypatch.setattr("resources.throttling.time.time", lambda: 1_800_000_030.0)


def rows(model) -> list[dict]:
    return [model_to_dict(obj) for obj in model.objects.order_by("pk")]


# --- API1: object-level authorization ---------------------------------------------------------


@pytest.fixture
def owned(user, other_user):
    """What `user` owns: an article with `other_user`'s comment on it, a comment on
    `other_user`'s article, a favorite and a follow."""
    mine = recipes.article.make(author=user, slug="mine", title="Mine")
    theirs = recipes.article.make(author=other_user, slug="theirs")
    their_comment = recipes.comment.make(article=mine, author=other_user)
    my_comment = recipes.comment.make(article=theirs, author=user)
    Favorite.objects.create(user=user, article=theirs)
    Follow.objects.create(follower=user, followee=other_user)
    return {
        "mine": mine,
        "theirs": theirs,
        "my_comment": my_comment,
        "their_comment": their_comment,
    }


def attempts(owned):
    """Every write on something `user` owns, as someone else would try it: (method, path, body,
    the status `other_user` must get, the table, and the column naming the owner of a row)."""
    return [
        ("put", "/api/articles/mine", {"article": {"title": "Stolen"}}, 403, Article, "author"),
        ("put", "/api/articles/mine", {"article": {"tagList": ["spam"]}}, 403, Article, "author"),
        ("delete", "/api/articles/mine", None, 403, Article, "author"),
        (
            "delete",
            f"/api/articles/theirs/comments/{owned['my_comment'].pk}",
            None,
            403,
            Comment,
            "author",
        ),
        # A comment id is looked up only under its own article.
        (
            "delete",
            f"/api/articles/mine/comments/{owned['my_comment'].pk}",
            None,
            404,
            Comment,
            "author",
        ),
        # Favorites, follows and the current user are the caller's own: another reader's are
        # out of reach whatever the request says.
        ("delete", "/api/articles/theirs/favorite", None, 200, Favorite, "user"),
        ("delete", "/api/profiles/jane/follow", None, 200, Follow, "follower"),
        ("put", "/api/user", {"user": {"email": "jake@evil.example"}}, 200, User, "id"),
    ]


def owned_rows(table, owner_field, owner) -> list[dict]:
    return [row for row in rows(table) if row[owner_field] == owner.pk]


def test_no_one_acts_on_what_is_not_theirs(user, other_api, owned):
    for method, path, body, status, table, owner_field in attempts(owned):
        before = owned_rows(table, owner_field, user)

        response = getattr(other_api, method)(path, body, format="json")

        assert response.status_code == status, (method, path, response.content)
        if status >= 400:
            assert set(response.json()) == {"errors"}
        assert owned_rows(table, owner_field, user) == before, (method, path)


def test_anonymous_writes_change_nothing(api, owned):
    for method, path, body, _, table, _ in attempts(owned):
        before = rows(table)

        response = getattr(api, method)(path, body, format="json")

        assert response.status_code == 401, (method, path)
        assert rows(table) == before, (method, path)


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    follows=st.sets(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=20),
    authors=st.lists(st.integers(0, 5), max_size=25),
    reader=st.integers(0, 5),
)
def test_the_feed_never_shows_an_author_the_reader_does_not_follow(follows, authors, reader):
    """Property test over random follow graphs: the feed holds exactly the followed authors'
    articles."""
    users = list(User.objects.order_by("pk")[:6]) or recipes.user.make(_quantity=6)
    Follow.objects.all().delete()
    Article.objects.all().delete()
    Follow.objects.bulk_create(
        [Follow(follower=users[a], followee=users[b]) for a, b in follows if a != b]
    )
    for n, author in enumerate(authors):
        recipes.article.make(author=users[author], slug=f"a{n}")

    body = client_for(users[reader]).get("/api/articles/feed?limit=100").json()

    followed = {users[b].username for a, b in follows if a == reader and a != b}
    expected = sum(1 for author in authors if users[author].username in followed)
    assert {a["author"]["username"] for a in body["articles"]} <= followed
    assert body["articlesCount"] == len(body["articles"]) == expected


# --- API3: mass assignment and excessive data exposure ----------------------------------------


FORBIDDEN_ARTICLE_FIELDS = {
    "slug": "chosen-slug",
    "author": {"username": "jane"},
    "author_id": 2,
    "favoritesCount": 1000,
    "favorites_count": 1000,
    "favorited": True,
    "createdAt": "2001-01-01T00:00:00.000Z",
    "updatedAt": "2001-01-01T00:00:00.000Z",
    "created_at": "2001-01-01T00:00:00Z",
    "id": 4242,
    "pk": 4242,
}
FORBIDDEN_USER_FIELDS = {
    "id": 4242,
    "pk": 4242,
    "is_staff": True,
    "is_superuser": True,
    "is_active": False,
    "date_joined": "2001-01-01T00:00:00Z",
    "last_login": "2001-01-01T00:00:00Z",
    "token": "forged",
}


def test_no_payload_sets_what_a_client_must_not(api, user_api, user, other_user):
    registered = api.post(
        "/api/users",
        {
            "user": {
                "username": "newbie",
                "email": "n@example.com",
                "password": "password1",
                **FORBIDDEN_USER_FIELDS,
            }
        },
        format="json",
    )
    user_api.put("/api/user", {"user": {"bio": "x", **FORBIDDEN_USER_FIELDS}}, format="json")
    created = user_api.post(
        "/api/articles",
        {"article": {"title": "T", "description": "D", "body": "B", **FORBIDDEN_ARTICLE_FIELDS}},
        format="json",
    )
    slug = created.json()["article"]["slug"]
    user_api.put(f"/api/articles/{slug}", {"article": FORBIDDEN_ARTICLE_FIELDS}, format="json")
    comment = user_api.post(
        f"/api/articles/{slug}/comments",
        {
            "comment": {
                "body": "c",
                "id": 4242,
                "author": "jane",
                "createdAt": "2001-01-01T00:00:00Z",
            }
        },
        format="json",
    )

    assert (registered.status_code, created.status_code, comment.status_code) == (201, 201, 200)
    for account in User.objects.all():
        assert (account.is_staff, account.is_superuser, account.is_active) == (False, False, True)
        assert account.pk != 4242
        assert account.date_joined.year > 2001
    article = Article.objects.get()
    assert (article.slug, article.author, article.pk) == ("t", user, article.pk)
    assert article.pk != 4242
    assert article.created_at.year > 2001
    assert not Favorite.objects.exists()
    saved = Comment.objects.get()
    assert (saved.author, saved.created_at.year > 2001) == (user, True)
    assert saved.pk != 4242


def _objects(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def test_no_response_exposes_hashes_internal_ids_or_other_emails(api, user, user_api, other_user):
    article = recipes.article.make(author=other_user, slug="theirs")
    recipes.comment.make(article=article, author=other_user)
    Favorite.objects.create(user=other_user, article=article)
    bodies = [
        api.get(path).content
        for path in [
            "/api/articles",
            "/api/articles/theirs",
            "/api/articles/theirs/comments",
            "/api/profiles/jane",
            "/api/tags",
        ]
    ] + [
        user_api.get("/api/articles/feed").content,
        user_api.post("/api/articles/theirs/favorite").content,
        user_api.post("/api/profiles/jane/follow").content,
    ]

    for body in bodies:
        text = body.decode()
        assert "argon2" not in text
        assert other_user.email not in text
        assert user.email not in text
        for obj in _objects(json.loads(body)):
            assert not {"password", "email", "is_staff", "is_superuser", "is_active"} & set(obj)
            if "slug" in obj or "username" in obj:
                assert "id" not in obj, obj
    own = user_api.get("/api/user").json()["user"]
    assert set(own) == {"email", "token", "username", "bio", "image"}
    assert own["email"] == user.email


# --- API4 and API6: resource consumption and business flows -----------------------------------


def test_a_huge_declared_body_is_refused_before_it_is_read(api):
    # The body is 2 bytes, but the header claims 10 GB: the answer comes without reading.
    response = api.post(
        "/api/users", b"{}", content_type="application/json", CONTENT_LENGTH="10000000000"
    )

    assert response.status_code == 413
    assert response.json() == {
        "errors": {"body": ["Request body is larger than the limit of 1048576 bytes."]}
    }


WRONG_PASSWORD = "wrong password"


def login(client, email, password=WRONG_PASSWORD):
    return client.post(
        "/api/users/login", {"user": {"email": email, "password": password}}, format="json"
    )


def assert_throttled(response):
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    [message] = response.json()["errors"]["body"]
    assert message.startswith("Request was throttled.")


def test_login_is_limited_per_account(api, settings, user):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account": "3/min"}

    statuses = [login(api, "JAKE@jake.jake").status_code for _ in range(3)]
    blocked = login(api, "jake@jake.jake", PASSWORD)

    assert statuses == [401, 401, 401]
    assert_throttled(blocked)
    assert login(api, "someone.else@example.com").status_code == 401


def test_login_is_limited_per_ip(api, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": "4/min"}

    statuses = [login(api, f"user{n}@example.com").status_code for n in range(4)]

    assert statuses == [401] * 4
    assert_throttled(login(api, "fresh@example.com"))
    other_ip = api.post(
        "/api/users/login",
        {"user": {"email": "fresh@example.com", "password": "x"}},
        format="json",
        REMOTE_ADDR="10.9.8.7",
    )
    assert other_ip.status_code == 401


def test_a_forwarded_for_header_does_not_dodge_the_ip_limit(api, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": "2/min"}

    statuses = [
        api.post(
            "/api/users/login",
            {"user": {"email": f"u{n}@example.com", "password": "x"}},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(3)
    ]

    assert statuses == [401, 401, 429]


def test_registration_is_limited_per_ip_and_per_account(api, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "registration_ip": "4/hour",
        "registration_account": "2/hour",
    }

    def register(n, email=None):
        user = {"username": f"u{n}", "email": email or f"u{n}@example.com", "password": "password1"}
        return api.post("/api/users", {"user": user}, format="json")

    same_account = [register(n, "same@example.com").status_code for n in range(2)]
    assert same_account == [201, 422]
    # Every attempt counts against the address, throttled ones included.
    assert_throttled(register(9, "SAME@example.com"))
    assert register(3).status_code == 201
    assert_throttled(register(4))
    assert User.objects.count() == 2


@pytest.mark.parametrize(
    ("scope", "method", "path", "body"),
    [
        (
            "article_write",
            "post",
            "/api/articles",
            {"article": {"title": "T", "description": "D", "body": "B"}},
        ),
        ("comment_write", "post", "/api/articles/theirs/comments", {"comment": {"body": "hi"}}),
        ("favorite", "post", "/api/articles/theirs/favorite", None),
        ("follow", "post", "/api/profiles/jane/follow", None),
        ("write", "put", "/api/user", {"user": {"bio": "x"}}),
    ],
)
def test_writes_are_limited_per_user(
    user_api, other_api, other_user, settings, scope, method, path, body
):
    recipes.article.make(author=other_user, slug="theirs")
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: "2/min"}

    first = [getattr(user_api, method)(path, body, format="json").status_code for _ in range(2)]

    assert all(code < 300 for code in first)
    assert_throttled(getattr(user_api, method)(path, body, format="json"))
    # Reads are never limited, and another user has their own count.
    assert user_api.get("/api/articles").status_code == 200
    if scope != "follow":
        assert getattr(other_api, method)(path, body, format="json").status_code < 300


def test_a_limit_set_to_off_never_throttles(api, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": None, "login_account": None}

    assert {login(api, "a@example.com").status_code for _ in range(40)} == {401}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_the_login_limit_holds_under_50_concurrent_attempts(settings, backend, request):
    """50 threads, each a client of its own, released at once against a limit of 10."""
    if backend == "redis":
        settings.CACHES = {"default": request.getfixturevalue("redis").cache_settings()}
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account": "10/min", "login_ip": None}
    recipes.user.make(email="target@example.com")
    barrier = threading.Barrier(50)
    statuses: list[int] = []

    def attempt():
        client = http_client()
        barrier.wait()
        statuses.append(login(client, "target@example.com").status_code)
        connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [401] * 10 + [429] * 40


# --- API8: security misconfiguration ----------------------------------------------------------


def test_a_crash_in_production_settings_is_json_without_a_traceback(api, settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setattr("resources.views.TagViewSet.list", lambda *a, **k: 1 / 0)
    api.raise_request_exception = False

    response = api.get("/api/tags")

    assert response.status_code == 500
    assert response.json() == {"errors": {"body": ["Internal server error."]}}
    assert b"ZeroDivisionError" not in response.content


def test_security_headers(api):
    response = api.get("/api/tags")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response


def test_hsts_is_sent_over_tls_when_configured(api, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000

    over_tls = api.get("/api/tags", secure=True)
    plain = api.get("/api/tags")

    assert over_tls["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in plain


def test_a_database_outage_is_a_503_json_with_retry_after(api, monkeypatch):
    from django.db import OperationalError

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("resources.models.Tag.objects.popular_names", unreachable)

    response = api.get("/api/tags")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "errors": {"body": ["The database is unavailable; try again shortly."]}
    }
