"""Hostile input gets a 4xx JSON answer and writes nothing; never a 500.

Hypothesis generates payloads for every write endpoint: NUL bytes, lone surrogates, huge strings,
deep nesting, numbers where strings belong and the reverse, wrong content types, and junk in
the path."""

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from resources.models import Article, ArticleTag, Comment, Favorite, Follow, Tag, User
from tests import recipes
from tests.clients import client_for

pytestmark = pytest.mark.django_db

TABLES: list[Any] = [User, Article, Tag, ArticleTag, Comment, Favorite, Follow]
WRITES = [
    ("post", "/api/users", "user"),
    ("post", "/api/users/login", "user"),
    ("put", "/api/user", "user"),
    ("post", "/api/articles", "article"),
    ("put", "/api/articles/the-article", "article"),
    ("post", "/api/articles/the-article/comments", "comment"),
    ("post", "/api/articles/the-article/favorite", None),
    ("post", "/api/profiles/jane/follow", None),
]
FIELDS = [
    "username",
    "email",
    "password",
    "bio",
    "image",
    "title",
    "description",
    "body",
    "tagList",
]

hostile_text = st.one_of(
    st.text(max_size=50),
    st.text(
        alphabet=st.sampled_from(["\x00", "\ud800", "\udfff", "\ufeff", "\u202e", "a", " "]),
        max_size=20,
    ),
    st.just("x" * 100_001),
    st.just("🐉" * 300),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


def snapshot():
    return {
        model.__name__: [model_to_dict(o) for o in model.objects.order_by("pk")] for model in TABLES
    }


@pytest.fixture
def world(user, other_user, settings):
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS)
    recipes.article.make(author=user, slug="the-article")
    return user


def assert_refused_or_done(response, before):
    assert response.status_code < 500, response.content[:500]
    assert response["Content-Type"] == "application/json"
    if response.status_code >= 400:
        assert set(json.loads(response.content)) == {"errors"}
        assert snapshot() == before


FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize(("method", "path", "envelope"), WRITES)
@FUZZ
@given(
    fields=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
    wrap=st.sampled_from(["envelope", "bare", "value"]),
)
@example(fields={"title": "\x00", "body": "x" * 100_001}, wrap="envelope")
@example(fields={"tagList": "dragons", "title": 42, "password": ["a"]}, wrap="envelope")
def test_hostile_json_bodies(world, method, path, envelope, fields, wrap):
    client = client_for(User.objects.get(pk=world.pk))
    payload = {
        "envelope": {envelope or "x": fields},
        "bare": fields,
        "value": fields.get("title", [fields]),
    }[wrap]
    before = snapshot()

    # ensure_ascii escapes lone surrogates as \\udXXXX, as a hostile client would send them.
    response = getattr(client, method)(path, json.dumps(payload), content_type="application/json")

    assert_refused_or_done(response, before)


@pytest.mark.parametrize(("method", "path", "envelope"), WRITES)
@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.just(b"[" * 100_000),
        st.just(b'{"user": ' * 2000 + b"1" + b"}" * 2000),
        st.just(b'{"user": {"email": "a@b.c", "password": "\\ud800\\ud800"}}'),
        st.just(b'{"article": NaN}'),
        st.just(b"\xef\xbb\xbf{}"),
    ),
    content_type=st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/xml",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin-1",
            "",
        ]
    ),
)
def test_hostile_raw_bodies_and_content_types(world, method, path, envelope, body, content_type):
    client = client_for(User.objects.get(pk=world.pk))
    before = snapshot()

    response = client.generic(method.upper(), path, body, content_type=content_type)

    assert_refused_or_done(response, before)


@FUZZ
@given(
    junk=st.text(min_size=1, max_size=40), method=st.sampled_from(["get", "put", "post", "delete"])
)
@example(junk="\x00", method="get")
@example(junk="%00", method="delete")
@example(junk="../../admin", method="get")
@example(junk="\ud800", method="put")
def test_percent_encoded_junk_in_paths(world, junk, method):
    client = client_for(User.objects.get(pk=world.pk))
    segment = quote(junk.encode("utf-8", "surrogatepass"), safe="")
    before = snapshot()

    for path in (
        f"/api/articles/{segment}",
        f"/api/articles/{segment}/comments",
        f"/api/articles/the-article/comments/{segment}",
        f"/api/articles/{segment}/favorite",
        f"/api/profiles/{segment}",
        f"/api/profiles/{segment}/follow",
        f"/api/articles?tag={segment}&author={segment}&favorited={segment}",
    ):
        response = getattr(client, method)(path)
        assert response.status_code < 500, (path, response.content[:300])
        assert response["Content-Type"] == "application/json", path
        if response.status_code >= 400:
            assert snapshot() == before, path
