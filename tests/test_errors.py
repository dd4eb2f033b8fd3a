"""The error contract at the HTTP level: every non-2xx answer is JSON in the errors shape."""

import pytest

from resources.models import User
from tests import recipes

pytestmark = pytest.mark.django_db


def assert_error(response, status, message):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errors": {"body": [message]}}


@pytest.mark.parametrize(
    "path",
    ["/api/nothing", "/nothing", "/", "/api/users/", "/api/articles/", "/api/tags/", "/api/"],
)
def test_unknown_urls_and_trailing_slashes_are_json_404(api, path):
    assert_error(api.get(path), 404, "Not found.")


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_unknown_urls_are_json_404_for_writes_too(api, method):
    # Not a CSRF failure: the API has no cookies to protect.
    assert_error(getattr(api, method)("/api/profiles/a%0Eb/follow"), 404, "Not found.")


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_urls_are_json_404_whatever_debug_says(api, settings, debug):
    settings.DEBUG = debug

    assert_error(api.get("/api/nowhere"), 404, "Not found.")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("patch", "/api/user", "GET, PUT, HEAD, OPTIONS"),
        ("delete", "/api/tags", "GET, HEAD, OPTIONS"),
        ("get", "/api/users/login", "POST, OPTIONS"),
        ("put", "/api/articles", "GET, POST, HEAD, OPTIONS"),
        ("patch", "/api/articles/some-slug", "GET, PUT, DELETE, HEAD, OPTIONS"),
    ],
)
def test_wrong_method_is_json_405_with_allow(user_api, method, path, allow):
    response = getattr(user_api, method)(path)

    assert_error(response, 405, f'Method "{method.upper()}" not allowed.')
    assert response["Allow"] == allow


def test_plain_options_answers_the_allowed_methods(api):
    response = api.options("/api/articles")

    assert response.status_code == 200
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert response.json()["methods"] == ["GET", "POST", "HEAD", "OPTIONS"]


def test_malformed_json_is_a_400(api):
    response = api.post("/api/users", '{"user": {', content_type="application/json")

    assert response.status_code == 400
    [message] = response.json()["errors"]["body"]
    assert message.startswith("JSON parse error")


@pytest.mark.parametrize(
    "body",
    [
        b'{"user": {"username": "\\ud800", "email": "a@b.co", "password": "12345678"}}',
        b'{"user": {"username": "a", "email": "a@b.co", "password": NaN}}',
        b"[" * 5000 + b"]" * 5000,
        b"\xff\xfe{}",
    ],
    ids=["lone surrogate", "NaN", "deep nesting", "invalid utf-8"],
)
def test_json_that_cannot_be_stored_is_a_400(api, body):
    response = api.post("/api/users", body, content_type="application/json")

    assert response.status_code == 400
    assert "body" in response.json()["errors"]
    assert not User.objects.exists()


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
def test_json_that_is_not_an_object_is_a_422(api, body):
    response = api.post("/api/users", body, content_type="application/json")

    assert response.status_code == 422
    assert "errors" in response.json()


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ],
)
def test_unsupported_content_types_are_json_415(api, content_type):
    response = api.generic("POST", "/api/users", b"user=x", content_type=content_type)

    assert response.status_code == 415
    assert response.json()["errors"]["body"][0].startswith("Unsupported media type")


def test_a_body_over_the_limit_is_json_413_before_it_is_read(api, settings):
    body = b'{"user": {"bio": "' + b"x" * (1024 * 1024) + b'"}}'

    response = api.post("/api/users", body, content_type="application/json")

    assert_error(response, 413, "Request body is larger than the limit of 1048576 bytes.")


def test_the_body_limit_comes_from_settings(api, settings):
    settings.MAX_REQUEST_BODY_BYTES = 10
    body = b'{"user": {"email": "x"}}'

    response = api.post("/api/users", body, content_type="application/json")

    assert_error(response, 413, "Request body is larger than the limit of 10 bytes.")


def test_accept_of_something_other_than_json_is_a_json_406(api):
    response = api.get("/api/tags", HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert "body" in response.json()["errors"]


def test_a_crash_is_a_json_500_without_a_traceback(api, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("resources.views.TagViewSet.list", explode)
    api.raise_request_exception = False

    response = api.get("/api/tags")

    assert_error(response, 500, "Internal server error.")
    assert b"secret internals" not in response.content
    assert b"Traceback" not in response.content


# --- CORS -------------------------------------------------------------------------------------


def test_cors_preflight_is_answered_for_any_origin_by_default(api):
    response = api.options(
        "/api/articles",
        HTTP_ORIGIN="https://frontend.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    allowed_headers = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed_headers
    allowed_methods = {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "DELETE"} <= allowed_methods


def test_cors_headers_are_on_ordinary_responses_and_errors(api):
    ok = api.get("/api/tags", HTTP_ORIGIN="https://frontend.example")
    missing = api.get("/api/nothing", HTTP_ORIGIN="https://frontend.example")

    assert ok["Access-Control-Allow-Origin"] == missing["Access-Control-Allow-Origin"] == "*"


def test_cors_can_be_restricted_to_configured_origins(api, settings):
    settings.CORS_ALLOW_ALL_ORIGINS = False
    settings.CORS_ALLOWED_ORIGINS = ["https://conduit.example"]

    allowed = api.get("/api/tags", HTTP_ORIGIN="https://conduit.example")
    foreign = api.get("/api/tags", HTTP_ORIGIN="https://evil.example")

    assert allowed["Access-Control-Allow-Origin"] == "https://conduit.example"
    assert "Access-Control-Allow-Origin" not in foreign


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("get", "/api/articles/nope", "Article not found."),
        ("put", "/api/articles/nope", "Article not found."),
        ("delete", "/api/articles/nope", "Article not found."),
        ("post", "/api/articles/nope/favorite", "Article not found."),
        ("delete", "/api/articles/nope/favorite", "Article not found."),
        ("get", "/api/articles/nope/comments", "Article not found."),
        ("post", "/api/articles/nope/comments", "Article not found."),
        ("delete", "/api/articles/nope/comments/1", "Article not found."),
        ("delete", "/api/articles/the-article/comments/999999", "Comment not found."),
        ("delete", "/api/articles/the-article/comments/{elsewhere}", "Comment not found."),
        ("get", "/api/profiles/nobody", "Profile not found."),
        ("post", "/api/profiles/nobody/follow", "Profile not found."),
        ("delete", "/api/profiles/nobody/follow", "Profile not found."),
    ],
)
def test_a_missing_resource_is_named_in_one_style(user, user_api, method, path, message):
    recipes.article.make(author=user, slug="the-article")
    elsewhere = recipes.comment.make(author=user)
    body = {"comment": {"body": "b"}} if path.endswith("comments") else {"article": {"body": "b"}}

    response = getattr(user_api, method)(path.format(elsewhere=elsewhere.pk), body, format="json")

    assert_error(response, 404, message)
