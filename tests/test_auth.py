"""Authentication: which Authorization headers are accepted, and the 401 for all the others."""

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.conf import settings

from resources import authentication
from resources.authentication import token_issue
from resources.models import User

pytestmark = pytest.mark.django_db

INVALID_TOKEN = {"errors": {"body": ["Invalid token."]}}
TOKEN_EXPIRED = {"errors": {"body": ["Token has expired."]}}
INVALID_HEADER = {
    "errors": {"body": ["Invalid Authorization header: expected 'Token <jwt>' or 'Bearer <jwt>'."]}
}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(user, **changes) -> dict:
    return {**jwt.decode(token_issue(user=user), options={"verify_signature": False}), **changes}


def assert_401(response, body):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == body


@pytest.mark.parametrize("keyword", ["Token", "Bearer", "token", "BEARER"])
def test_token_and_bearer_keywords_are_accepted(api, user, keyword):
    response = api.get("/api/user", HTTP_AUTHORIZATION=f"{keyword} {token_issue(user=user)}")

    assert response.status_code == 200
    assert response.json()["user"]["username"] == "jake"


def test_alg_none_is_refused(api, user):
    claims = claims_for(user)
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_a_token_signed_with_another_key_is_refused(api, user):
    token = jwt.encode(claims_for(user), "not the server key" * 4, algorithm="HS256")

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_an_edited_payload_is_refused(api, user, other_user):
    header, _, signature = token_issue(user=user).split(".")
    forged = b64(claims_for(user, sub=str(other_user.pk)))

    response = api.get("/api/user", HTTP_AUTHORIZATION=f"Token {header}.{forged}.{signature}")

    assert_401(response, INVALID_TOKEN)


def test_an_expired_token_is_refused(api, user):
    past = datetime.now(tz=UTC) - timedelta(days=30)
    claims = claims_for(user, iat=past, exp=past + timedelta(seconds=1))
    token = jwt.encode(claims, settings.TOKEN_SIGNING_KEY, algorithm="HS256")

    response = api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}")

    assert_401(response, {"errors": {"body": ["Token has expired."]}})


def test_token_lifetime_comes_from_settings(user, settings):
    settings.TOKEN_LIFETIME = timedelta(minutes=5)

    claims = jwt.decode(token_issue(user=user), options={"verify_signature": False})

    assert claims["exp"] - claims["iat"] == 300


def test_a_token_without_expiry_is_refused(api, user):
    claims = claims_for(user)
    del claims["exp"]
    token = jwt.encode(claims, settings.TOKEN_SIGNING_KEY, algorithm="HS256")

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_a_token_of_a_deleted_user_is_refused(api, user):
    token = token_issue(user=user)
    user.delete()

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_a_token_of_an_inactive_user_is_refused(api, user):
    token = token_issue(user=user)
    user.is_active = False
    user.save()

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_a_token_issued_before_a_password_change_is_refused(api, user):
    token = token_issue(user=user)
    user.set_password("another password entirely")
    user.save()

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


# A process remembers the tokens it verified for TOKEN_USER_CACHE_SECONDS: a change made in the
# same process is seen at once, one made elsewhere (here: a bulk update, which sends no signal)
# within that bound.


def change_user(user, change):
    if change == "deleted":
        user.delete()
    elif change == "deactivated":
        user.is_active = False
        user.save()
    else:
        user.set_password("another password entirely")
        user.save()


@pytest.mark.parametrize("change", ["deleted", "deactivated", "password changed"])
def test_a_verified_token_is_refused_at_once_after_a_change_in_this_process(api, user, change):
    token = token_issue(user=user)
    assert api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200

    change_user(user, change)

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_a_password_changed_through_the_api_refuses_the_old_token_at_once(user_api, user):
    old = user_api.get("/api/user").json()["user"]["token"]
    user_api.put("/api/user", {"user": {"password": "a brand new password"}}, format="json")

    assert_401(user_api.get("/api/user", HTTP_AUTHORIZATION=f"Token {old}"), INVALID_TOKEN)


@pytest.fixture
def clock(monkeypatch):
    """The monotonic clock the token memory reads, standing still until `clock.advance(seconds)`
    moves it: however long a request takes on a busy machine, the bound is measured exactly."""

    class Clock:
        now = time.monotonic()

        def advance(self, seconds: float) -> None:
            self.now += seconds

    clock = Clock()
    monkeypatch.setattr(authentication.time, "monotonic", lambda: clock.now)
    return clock


def test_a_change_made_elsewhere_is_seen_within_the_bound(api, user, settings, clock):
    settings.TOKEN_USER_CACHE_SECONDS = 5
    token = token_issue(user=user)
    assert api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200

    User.objects.filter(pk=user.pk).update(is_active=False)
    clock.advance(4.9)
    # The feed needs a reader and shows none of the reader's own columns: the copy serves it.
    assert api.get("/api/articles/feed", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    clock.advance(0.2)

    assert_401(api.get("/api/articles/feed", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_the_current_user_is_read_afresh_even_from_a_remembered_token(api, user, settings):
    # GET /user shows the user's own columns, so a change made by another process (a PUT /user
    # served by another worker) shows on the next request, not after the bound.
    settings.TOKEN_USER_CACHE_SECONDS = 60
    token = token_issue(user=user)
    assert api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200

    User.objects.filter(pk=user.pk).update(bio="Changed by another worker.")
    response = api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert response.json()["user"]["bio"] == "Changed by another worker."

    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_with_no_memory_every_request_checks_the_user(api, user, settings):
    settings.TOKEN_USER_CACHE_SECONDS = 0
    token = token_issue(user=user)
    assert api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200

    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), INVALID_TOKEN)


def test_a_remembered_token_still_expires(api, user, settings):
    settings.TOKEN_USER_CACHE_SECONDS = 60
    settings.TOKEN_LIFETIME = timedelta(seconds=2)
    token = token_issue(user=user)
    assert api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200

    time.sleep(2.5)

    assert_401(api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}"), TOKEN_EXPIRED)


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "", "eyJ.eyJ.", "ü"])
def test_malformed_tokens_are_refused(api, token):
    response = api.get("/api/articles", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "template", ["{token}", "Basic {token}", "Token", "Token {token} extra", ""]
)
def test_a_header_without_the_token_keyword_is_refused(api, user, template):
    header = template.format(token=token_issue(user=user))

    response = api.get("/api/user", HTTP_AUTHORIZATION=header)

    assert_401(response, INVALID_HEADER)


def test_a_bad_token_is_refused_even_where_anonymous_reads_are_allowed(api):
    response = api.get("/api/tags", HTTP_AUTHORIZATION="Token nope")

    assert_401(response, INVALID_TOKEN)


def test_a_token_in_the_query_string_is_ignored(api, user):
    token = token_issue(user=user)

    for name in ("token", "access_token", "auth", "Authorization"):
        response = api.get(f"/api/user?{name}={token}")
        assert response.status_code == 401, name
