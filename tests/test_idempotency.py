"""Idempotency-Key on every POST: the first answer replayed, a different request under the same
key refused, a retry while the first runs told to wait, server errors not kept, a missing store
refused; in the in-process cache and in Redis, in one process and across two app servers."""

import json
import sqlite3
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError

import pytest
from django.db import OperationalError, connection

from resources import services
from resources.models import Article, Comment, Favorite, User
from tests import recipes
from tests.clients import http_client
from tests.tools import database_url, gunicorn, migrated_sqlite

pytestmark = pytest.mark.django_db

NEW_ARTICLE = {"article": {"title": "Dragons", "description": "D", "body": "B"}}


@pytest.fixture(params=["locmem", "redis"])
def store(request, settings):
    """Each test once with the in-process cache and once with Redis."""
    if request.param == "redis":
        settings.CACHES = {"default": request.getfixturevalue("redis").cache_settings()}
    return request.param


def post(client, path, body, key=None, **extra):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, body, format="json", **headers, **extra)


def test_a_retry_gets_the_first_answer_again_and_writes_nothing(store, user_api):
    first = post(user_api, "/api/articles", NEW_ARTICLE, "retry-1")
    again = post(user_api, "/api/articles", NEW_ARTICLE, "retry-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Article.objects.count() == 1


def test_without_a_key_each_post_writes(user_api):
    first = post(user_api, "/api/articles", NEW_ARTICLE)
    second = post(user_api, "/api/articles", NEW_ARTICLE)

    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second
    assert Article.objects.count() == 2


def test_the_same_key_with_another_body_or_path_is_refused(store, user_api, user):
    recipes.article.make(slug="theirs")
    post(user_api, "/api/articles", NEW_ARTICLE, "k")
    other_body = {"article": {**NEW_ARTICLE["article"], "title": "Other"}}

    for path, body in [("/api/articles", other_body), ("/api/articles/theirs/favorite", None)]:
        response = post(user_api, path, body, "k")
        assert response.status_code == 422
        assert response.json() == {
            "errors": {
                "Idempotency-Key": [
                    "This key was already used for a different request (another path or body)."
                ]
            }
        }
    assert list(Article.objects.filter(author=user).values_list("title", flat=True)) == ["Dragons"]
    assert not Favorite.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "tab\there", "nul\x7f"])
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_refused(user_api, key):
    response = post(user_api, "/api/articles", NEW_ARTICLE, key)

    assert response.status_code == 422
    assert response.json() == {
        "errors": {"Idempotency-Key": ["Must be 1 to 255 printable ASCII characters."]}
    }
    assert not Article.objects.exists()


@pytest.mark.parametrize("key", ["a", "x" * 255, " !~ spaces and punctuation {}"])
def test_keys_of_every_allowed_length_and_character_work(user_api, key):
    assert post(user_api, "/api/articles", NEW_ARTICLE, key).status_code == 201
    assert post(user_api, "/api/articles", NEW_ARTICLE, key)["Idempotent-Replayed"] == "true"


def test_a_client_error_is_kept_and_replayed(store, user_api):
    invalid = {"article": {"title": "", "description": "D", "body": "B"}}

    first = post(user_api, "/api/articles", invalid, "bad")
    again = post(user_api, "/api/articles", invalid, "bad")

    assert first.status_code == again.status_code == 422
    assert again.json() == first.json() == {"errors": {"title": ["This field may not be blank."]}}
    assert again["Idempotent-Replayed"] == "true"


def test_a_server_error_is_not_kept_so_the_retry_runs(store, user_api, monkeypatch):
    def database_down(**kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(services, "article_create", database_down)
        failed = post(user_api, "/api/articles", NEW_ARTICLE, "after-503")
    retried = post(user_api, "/api/articles", NEW_ARTICLE, "after-503")

    assert failed.status_code == 503
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert Article.objects.count() == 1


def test_a_crash_releases_the_key(store, user_api, monkeypatch):
    crashing = http_client()
    crashing.credentials(HTTP_AUTHORIZATION=user_api._credentials["HTTP_AUTHORIZATION"])
    crashing.raise_request_exception = False

    def crash(**kwargs):
        raise RuntimeError("a bug")

    with monkeypatch.context() as patch:
        patch.setattr(services, "article_create", crash)
        failed = post(crashing, "/api/articles", NEW_ARTICLE, "after-500")
    retried = post(user_api, "/api/articles", NEW_ARTICLE, "after-500")

    assert failed.status_code == 500
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


def test_keys_belong_to_their_user(store, user_api, other_api, user, other_user):
    mine = post(user_api, "/api/articles", NEW_ARTICLE, "shared-key")
    theirs = post(other_api, "/api/articles", NEW_ARTICLE, "shared-key")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["article"]["author"]["username"] == user.username
    assert theirs.json()["article"]["author"]["username"] == other_user.username


def test_anonymous_registration_and_login_are_scoped_to_the_client_address(store, api):
    body = {"user": {"username": "jake", "email": "jake@jake.jake", "password": "jakejake"}}
    first = post(api, "/api/users", body, "signup")
    again = post(api, "/api/users", body, "signup")
    elsewhere = post(api, "/api/users", body, "signup", REMOTE_ADDR="198.51.100.7")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    # Another address has keys of its own: its request runs, and the account exists.
    assert elsewhere.status_code == 422
    assert "Idempotent-Replayed" not in elsewhere
    assert User.objects.count() == 1

    credentials = {"user": {"email": "jake@jake.jake", "password": "jakejake"}}
    login = post(api, "/api/users/login", credentials, "signin")
    replayed = post(api, "/api/users/login", credentials, "signin")
    assert login.status_code == replayed.status_code == 200
    assert replayed.content == login.content
    assert replayed["Idempotent-Replayed"] == "true"


def test_a_forwarded_for_header_does_not_change_an_anonymous_scope(store, api):
    body = {"user": {"username": "jake", "email": "jake@jake.jake", "password": "jakejake"}}
    post(api, "/api/users", body, "signup", HTTP_X_FORWARDED_FOR="203.0.113.1")
    again = post(api, "/api/users", body, "signup", HTTP_X_FORWARDED_FOR="203.0.113.2")

    assert again["Idempotent-Replayed"] == "true"


def test_every_post_takes_a_key(store, user_api, other_user):
    article = recipes.article.make(author=other_user, slug="theirs")
    posts = [
        (f"/api/profiles/{other_user.username}/follow", None),
        ("/api/articles/theirs/favorite", None),
        ("/api/articles/theirs/comments", {"comment": {"body": "First!"}}),
    ]
    for path, body in posts:
        first = post(user_api, path, body, f"key {path}")
        again = post(user_api, path, body, f"key {path}")
        assert first.status_code == again.status_code == 200
        assert again.content == first.content
        assert again["Idempotent-Replayed"] == "true"
    assert Comment.objects.filter(article=article).count() == 1


def test_a_refusal_before_the_view_keeps_nothing(api, user_api):
    # Not signed in: a 401, and the key is still free for the signed-in retry.
    assert post(api, "/api/articles", NEW_ARTICLE, "early").status_code == 401
    retried = post(user_api, "/api/articles", NEW_ARTICLE, "early")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_request_runs_gets_409_with_retry_after(store, user, monkeypatch):
    started, release = threading.Event(), threading.Event()
    create = services.article_create

    def slow_create(**kwargs):
        started.set()
        assert release.wait(10)
        return create(**kwargs)

    monkeypatch.setattr(services, "article_create", slow_create)
    token = services_token(user)
    answers = {}

    def first():
        answers["first"] = post(signed_in(token), "/api/articles", NEW_ARTICLE, "slow")
        connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(10)
    try:
        during = post(signed_in(token), "/api/articles", NEW_ARTICLE, "slow")
    finally:
        release.set()
        thread.join()
    after = post(signed_in(token), "/api/articles", NEW_ARTICLE, "slow")

    assert during.status_code == 409
    assert during["Retry-After"] == "1"
    assert during.json() == {
        "errors": {
            "body": [
                "A request with this Idempotency-Key is still being processed; retry after "
                "the number of seconds in Retry-After."
            ]
        }
    }
    assert answers["first"].status_code == 201
    assert after.content == answers["first"].content
    assert after["Idempotent-Replayed"] == "true"
    assert Article.objects.count() == 1


def services_token(user):
    from resources.authentication import token_issue

    return token_issue(user=user)


def signed_in(token):
    client = http_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_with_the_store_down_a_request_with_a_key_gets_503_and_writes_nothing(settings, user_api):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            # Nothing listens on port 1.
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }

    response = post(user_api, "/api/articles", NEW_ARTICLE, "no-store")
    without_key = post(user_api, "/api/articles", NEW_ARTICLE)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "errors": {
            "body": [
                "Idempotency keys cannot be checked right now, so the request was not "
                "processed; retry shortly."
            ]
        }
    }
    # Without a key the API serves as before, the cache failing open.
    assert without_key.status_code == 201
    assert Article.objects.count() == 1


# --- Two app servers sharing Redis -----------------------------------------------------------


def send(url, body, key):
    request = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.django_db(transaction=True)
def test_two_app_servers_share_keys(redis, tmp_path):
    on_postgresql = connection.vendor == "postgresql"
    database = database_url() if on_postgresql else migrated_sqlite(tmp_path)
    env = {
        "DATABASE_URL": database,
        **redis.server_env(),
        "RATE_LIMIT_REGISTRATION_IP": "off",
        "RATE_LIMIT_REGISTRATION_ACCOUNT": "off",
    }
    body = {"user": {"username": "twice", "email": "twice@example.com", "password": "password1"}}
    with gunicorn(env) as one, gunicorn(env) as two:
        urls = [f"{server.url}/api/users" for server in (one, two)] * 10
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda url: send(url, body, "one-signup"), urls))
        later = [send(url, body, "one-signup") for url in urls[:2]]

    ran = [a for a in answers if a[0] == 201 and "Idempotent-Replayed" not in a[1]]
    assert len(ran) == 1, [a[0] for a in answers]
    first_body = ran[0][2]
    for status, headers, content in answers:
        assert status in (201, 409)
        if status == 201:
            assert content == first_body
        else:
            assert headers["Retry-After"] == "1"
    for status, headers, content in later:
        assert (status, headers["Idempotent-Replayed"], content) == (201, "true", first_body)
    if on_postgresql:
        assert User.objects.filter(username="twice").count() == 1
    else:
        with sqlite3.connect(database.removeprefix("sqlite:///")) as db:
            [(count,)] = db.execute(
                "SELECT count(*) FROM resources_user WHERE username = 'twice'"
            ).fetchall()
        assert count == 1
