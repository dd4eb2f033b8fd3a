"""Request bodies without Content-Length (chunked): read within the size limit, 413 above it,
411 where the server cannot end the body for the app; never taken as empty."""

import json
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import pytest

from resources.models import User
from tests.tools import RawResponse, Server, chunked, gunicorn, migrated_sqlite, raw_http

LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """gunicorn alone, as the app's own server, on a database of its own."""
    database = migrated_sqlite(tmp_path_factory.mktemp("bodies"))
    with gunicorn({"DATABASE_URL": database}) as server:
        yield server


def post_chunked(base_url: str, parts: Iterable[bytes]) -> RawResponse:
    """POST /api/users with a chunked body."""
    url = urlsplit(base_url)
    head = (
        b"POST /api/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    return raw_http((url.hostname or "", url.port or 80), [head, *parts])


def registration(username: str, bio: str = "") -> bytes:
    user = {"username": username, "email": f"{username}@example.com", "password": "password1"}
    return json.dumps({"user": user | ({"bio": bio} if bio else {})}).encode()


def test_a_chunked_body_is_read(server):
    response = post_chunked(server.url, chunked(registration("chunky"), size=7))

    assert response.status == 201, response.body
    assert response.json()["user"]["username"] == "chunky"


def test_a_chunked_body_up_to_the_limit_is_read_whole(server):
    # The registration itself, padded with spaces to exactly the limit.
    body = registration("padded")
    body = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    assert len(body) == LIMIT

    response = post_chunked(server.url, chunked(body))

    assert response.status == 201, response.body


def test_a_chunked_body_over_the_limit_is_413(server):
    body = b'{"user": {"bio": "' + b"x" * (2 * LIMIT) + b'"}}'

    response = post_chunked(server.url, chunked(body))

    assert response.status == 413
    assert response.json() == {
        "errors": {"body": [f"Request body is larger than the limit of {LIMIT} bytes."]}
    }


def test_a_malformed_chunked_body_is_400(server):
    response = post_chunked(server.url, [b"zz\r\n{}\r\n0\r\n\r\n"])

    assert response.status == 400
    assert response.json() == {"errors": {"body": ["Malformed chunked request body."]}}


@pytest.mark.django_db(transaction=True)
def test_the_development_server_refuses_a_chunked_body_with_411(live_server):
    # Django's development server (wsgiref) cannot tell where a chunked body ends.
    response = post_chunked(live_server.url, chunked(b"{}"))

    assert response.status == 411
    assert response.json() == {
        "errors": {"body": ["A request body needs a Content-Length header on this server."]}
    }
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_body_without_content_length_is_never_taken_as_empty(api):
    response = api.generic(
        "POST",
        "/api/users",
        registration("nolength"),
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411
    assert not User.objects.exists()
