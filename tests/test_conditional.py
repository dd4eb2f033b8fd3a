"""Conditional requests: ETags, 304 for If-None-Match, Cache-Control and Vary, HEAD on every GET
route, and If-Match on the writes that can lose an update (412 when stale)."""

import pytest
import yaml

from resources.conditional import (
    IF_MATCH_OPERATIONS,
    entity_tag,
    match,
    none_match,
    parse_entity_tags,
)
from resources.models import Article, Favorite, User
from tests import recipes
from tests.clients import client_for, http_client
from tests.tools import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(user):
    article = recipes.article.make(author=user, slug="how-to-train-your-dragon")
    recipes.comment.make(article=article)
    return article


@pytest.fixture
def routes(article, other_user):
    """Every GET route, with the client that may read it."""
    return [
        ("anonymous", "/api/articles"),
        ("anonymous", "/api/articles?tag=dragons&limit=5"),
        ("anonymous", f"/api/articles/{article.slug}"),
        ("anonymous", f"/api/articles/{article.slug}/comments"),
        ("anonymous", "/api/tags"),
        ("anonymous", f"/api/profiles/{other_user.username}"),
        ("signed_in", "/api/articles"),
        ("signed_in", "/api/articles/feed"),
        ("signed_in", f"/api/articles/{article.slug}"),
        ("signed_in", "/api/user"),
        ("signed_in", "/api/user/articles"),
        ("signed_in", f"/api/profiles/{other_user.username}"),
    ]


def clients(api, user_api):
    return {"anonymous": api, "signed_in": user_api}


# --- Entity tags ------------------------------------------------------------------------------


def test_every_200_get_carries_a_strong_etag_of_its_body(api, user_api, routes):
    for who, path in routes:
        response = clients(api, user_api)[who].get(path)

        assert response.status_code == 200, path
        assert response["ETag"] == entity_tag(response.content), path
        assert response["ETag"].startswith('"'), path


def test_the_etag_differs_per_reader_where_the_body_does(user, other_user, api, article):
    Favorite.objects.create(user=other_user, article=article)
    path = f"/api/articles/{article.slug}"

    anonymous, author, fan = (c.get(path) for c in (api, client_for(user), client_for(other_user)))

    assert fan.json()["article"]["favorited"] is True
    assert anonymous.json()["article"]["favorited"] is False
    assert anonymous["ETag"] == author["ETag"]  # the same body: the same tag
    assert fan["ETag"] != anonymous["ETag"]


def test_the_etag_changes_when_the_resource_does(user_api, api, article):
    path = f"/api/articles/{article.slug}"
    before = api.get(path)["ETag"]

    user_api.put(path, {"article": {"description": "Changed."}}, format="json")

    assert api.get(path)["ETag"] != before


# --- If-None-Match ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "{etag}",
        "W/{etag}",
        '"other", {etag}',
        '"other",W/{etag} , "more"',
        "*",
    ],
)
def test_if_none_match_naming_the_current_tag_gets_304_without_a_body(api, article, header):
    path = f"/api/articles/{article.slug}"
    first = api.get(path)

    response = api.get(path, HTTP_IF_NONE_MATCH=header.format(etag=first["ETag"]))

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == first["ETag"]
    assert response["Cache-Control"] == "public, no-cache"
    assert response["Vary"] == first["Vary"]


@pytest.mark.parametrize("header", ['"stale"', 'W/"stale"', "not a tag", '"a" "b"', ""])
def test_if_none_match_naming_another_tag_gets_the_whole_answer(api, article, header):
    path = f"/api/articles/{article.slug}"
    first = api.get(path)

    response = api.get(path, HTTP_IF_NONE_MATCH=header)

    assert response.status_code == 200
    assert response.content == first.content


def test_a_304_is_per_reader(user, other_user, api, article):
    path = f"/api/articles/{article.slug}"
    Favorite.objects.create(user=other_user, article=article)
    anonymous_tag = api.get(path)["ETag"]

    response = client_for(other_user).get(path, HTTP_IF_NONE_MATCH=anonymous_tag)

    assert response.status_code == 200
    assert response.json()["article"]["favorited"] is True


def test_errors_carry_no_etag_and_if_none_match_does_not_hide_them(api):
    response = api.get("/api/articles/no-such-article", HTTP_IF_NONE_MATCH="*")

    assert response.status_code == 404
    assert "ETag" not in response
    assert response.json() == {"errors": {"body": ["Article not found."]}}


# --- Cache-Control and Vary -------------------------------------------------------------------


def test_cache_control_is_private_with_authorization_and_public_without(api, user_api, routes):
    for who, path in routes:
        response = clients(api, user_api)[who].get(path)

        expected = "private, no-cache" if who == "signed_in" else "public, no-cache"
        assert response["Cache-Control"] == expected, path
        vary = {v.strip().lower() for v in response["Vary"].split(",")}
        assert {"authorization", "origin"} <= vary, path


def test_a_setting_lets_a_cdn_keep_anonymous_answers(api, user_api, settings):
    settings.HTTP_CACHE_S_MAXAGE = 30

    assert api.get("/api/tags")["Cache-Control"] == "public, no-cache, s-maxage=30"
    assert user_api.get("/api/tags")["Cache-Control"] == "private, no-cache"


def test_a_browser_on_another_origin_may_read_the_etag(api):
    response = api.get("/api/tags", HTTP_ORIGIN="https://frontend.example")

    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert "etag" in exposed
    preflight = api.options(
        "/api/articles/x",
        HTTP_ORIGIN="https://frontend.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-match",
    )
    assert "if-match" in preflight["Access-Control-Allow-Headers"]


# --- HEAD -------------------------------------------------------------------------------------


def test_head_answers_every_get_route_like_get_without_a_body(api, user_api, routes):
    for who, path in routes:
        client = clients(api, user_api)[who]
        get, head = client.get(path), client.head(path)

        assert head.status_code == get.status_code == 200, path
        assert head.content == b"", path
        for name in ("ETag", "Cache-Control", "Vary", "Content-Type", "Allow"):
            assert head[name] == get[name], (path, name)
        assert head["Content-Length"] == str(len(get.content)), path


def test_head_of_a_missing_resource_is_404_and_head_honours_if_none_match(api, article):
    assert api.head("/api/articles/no-such-article").status_code == 404
    etag = api.get("/api/tags")["ETag"]
    assert api.head("/api/tags", HTTP_IF_NONE_MATCH=etag).status_code == 304


# --- If-Match ---------------------------------------------------------------------------------


def test_a_put_with_the_current_etag_writes_and_answers_the_new_etag(user_api, article):
    path = f"/api/articles/{article.slug}"
    etag = user_api.get(path)["ETag"]

    response = user_api.put(
        path, {"article": {"description": "New."}}, format="json", HTTP_IF_MATCH=etag
    )

    assert response.status_code == 200
    assert response.json()["article"]["description"] == "New."
    after = user_api.get(path)
    assert response["ETag"] == after["ETag"] != etag
    assert response.content == after.content


def test_a_put_with_a_stale_etag_is_412_and_writes_nothing(user_api, article):
    path = f"/api/articles/{article.slug}"
    stale = user_api.get(path)["ETag"]
    user_api.put(path, {"article": {"description": "First."}}, format="json")

    response = user_api.put(
        path, {"article": {"description": "Second."}}, format="json", HTTP_IF_MATCH=stale
    )

    assert response.status_code == 412
    assert response.json() == {
        "errors": {
            "If-Match": [
                "The resource has changed since this ETag was issued: read it again and retry "
                "with its current ETag."
            ]
        }
    }
    assert Article.objects.get(pk=article.pk).description == "First."


@pytest.mark.parametrize(
    ("header", "written"),
    [
        ("*", True),
        ("{etag}", True),
        ('"other", {etag}', True),
        ("W/{etag}", False),  # If-Match compares strongly: a weak tag never matches
        ('"other"', False),
        ("not a tag", False),
    ],
)
def test_if_match_forms(user_api, article, header, written):
    path = f"/api/articles/{article.slug}"
    etag = user_api.get(path)["ETag"]

    response = user_api.put(
        path,
        {"article": {"description": "New."}},
        format="json",
        HTTP_IF_MATCH=header.format(etag=etag),
    )

    assert response.status_code == (200 if written else 412)
    assert (Article.objects.get(pk=article.pk).description == "New.") is written
    if not written:
        assert list(response.json()["errors"]) == ["If-Match"]


def test_a_favorite_by_someone_else_makes_the_etag_stale(user_api, other_api, article):
    path = f"/api/articles/{article.slug}"
    etag = user_api.get(path)["ETag"]
    other_api.post(f"{path}/favorite")

    response = user_api.put(
        path, {"article": {"description": "New."}}, format="json", HTTP_IF_MATCH=etag
    )

    assert response.status_code == 412


def test_a_delete_with_a_stale_etag_is_412_and_with_the_current_one_deletes(user_api, article):
    path = f"/api/articles/{article.slug}"
    stale = user_api.get(path)["ETag"]
    user_api.put(path, {"article": {"body": "Rewritten."}}, format="json")

    refused = user_api.delete(path, HTTP_IF_MATCH=stale)
    current = user_api.get(path)["ETag"]
    deleted = user_api.delete(path, HTTP_IF_MATCH=current)

    assert refused.status_code == 412
    assert list(refused.json()["errors"]) == ["If-Match"]
    assert deleted.status_code == 204
    assert not Article.objects.filter(pk=article.pk).exists()


def test_without_if_match_writes_are_unchanged(user_api, article):
    path = f"/api/articles/{article.slug}"
    user_api.get(path)
    user_api.put(path, {"article": {"description": "Someone else's."}}, format="json")

    response = user_api.put(path, {"article": {"description": "Mine."}}, format="json")

    assert response.status_code == 200
    assert Article.objects.get(pk=article.pk).description == "Mine."


def test_ownership_and_existence_come_before_the_precondition(other_api, user_api, article):
    path = f"/api/articles/{article.slug}"

    assert other_api.delete(path, HTTP_IF_MATCH='"stale"').status_code == 403
    assert user_api.delete("/api/articles/nope", HTTP_IF_MATCH='"stale"').status_code == 404


def test_put_user_honours_if_match_and_answers_the_etag_of_its_new_token(user, user_api):
    etag = user_api.get("/api/user")["ETag"]
    user_api.put("/api/user", {"user": {"bio": "Elsewhere."}}, format="json")

    stale = user_api.put(
        "/api/user", {"user": {"bio": "Lost update."}}, format="json", HTTP_IF_MATCH=etag
    )
    current = user_api.get("/api/user")["ETag"]
    written = user_api.put(
        "/api/user", {"user": {"bio": "Kept."}}, format="json", HTTP_IF_MATCH=current
    )

    assert stale.status_code == 412
    assert list(stale.json()["errors"]) == ["If-Match"]
    assert written.status_code == 200
    assert User.objects.get(pk=user.pk).bio == "Kept."
    # The answer carries a new token: the ETag is what GET /user answers with that token.
    token = written.json()["user"]["token"]
    with_new_token = http_client()
    with_new_token.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    after = with_new_token.get("/api/user")
    assert written["ETag"] == after["ETag"]
    assert written.content == after.content


def test_write_answers_carry_the_etag_of_their_body(user_api, article):
    created = user_api.post(
        "/api/articles",
        {"article": {"title": "T", "description": "D", "body": "B"}},
        format="json",
    )
    favorited = user_api.post(f"/api/articles/{article.slug}/favorite")

    for response in (created, favorited):
        assert response["ETag"] == entity_tag(response.content)
    assert favorited["ETag"] == user_api.get(f"/api/articles/{article.slug}")["ETag"]


# --- The header grammar -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ('"a"', [(False, "a")]),
        ('W/"a"', [(True, "a")]),
        (' "a" ,W/"b",  "c" ', [(False, "a"), (True, "b"), (False, "c")]),
        ("*", [(False, "*")]),
        ('""', [(False, "")]),
        ("a", None),
        ('"a" "b"', None),
        ('"a', None),
        ("", None),
    ],
)
def test_entity_tag_lists_parse(header, parsed):
    assert parse_entity_tags(header) == parsed


def test_weak_and_strong_comparison():
    assert none_match('W/"x"', '"x"')
    assert none_match('"x"', '"x"')
    assert match('"x"', '"x"')
    assert not match('W/"x"', '"x"')
    assert not none_match('"y"', '"x"')
    assert not match('"y"', '"x"')


# --- The contract -----------------------------------------------------------------------------


def test_the_schema_names_the_conditional_headers_and_answers():
    schema = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    operations = [
        (method, operation)
        for operations in schema["paths"].values()
        for method, operation in operations.items()
        if method in ("get", "post", "put", "delete")
    ]
    for method, operation in operations:
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        responses = operation["responses"]
        name = operation["operationId"]
        if method == "get":
            assert "If-None-Match" in headers, name
            assert set(responses["200"]["headers"]) == {"ETag", "Cache-Control", "Vary"}, name
            assert set(responses["304"]["headers"]) == {"ETag", "Cache-Control", "Vary"}, name
            assert "content" not in responses["304"], name
        elif "200" in responses or "201" in responses:
            success = responses.get("200") or responses["201"]
            assert "ETag" in success["headers"], name
        if name in IF_MATCH_OPERATIONS:
            assert "If-Match" in headers, name
            assert "412" in responses, name
        else:
            assert "If-Match" not in headers, name
            assert "412" not in responses, name
    assert {name for _, o in operations for name in [o["operationId"]]} >= IF_MATCH_OPERATIONS
