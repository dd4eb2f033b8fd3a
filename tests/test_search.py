"""Full-text search: GET /api/articles?search=, the same on SQLite (FTS5) and PostgreSQL
(tsvector): what it finds, in which order, how it combines, and what it refuses."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from resources.models import Article, Favorite
from tests.clients import http_client

pytestmark = pytest.mark.django_db


def write(client, title, description="d", body="b", tags=(), **fields):
    article = {"title": title, "description": description, "body": body, "tagList": list(tags)}
    response = client.post("/api/articles", {"article": {**article, **fields}}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["article"]["slug"]


def found(query: str, client=None) -> list[str]:
    body = (client or http_client()).get("/api/articles", {"search": query, "limit": "100"}).json()
    assert body["articlesCount"] == len(body["articles"]), body
    return [article["slug"] for article in body["articles"]]


@pytest.fixture
def library(user_api):
    return {
        "dragon": write(user_api, "How to train your dragon", body="Patience and fish."),
        "cafe": write(user_api, "Café culture", description="Espresso in Vienna."),
        "tagged": write(user_api, "Weekend notes", tags=["kubernetes"]),
        "body": write(user_api, "Field notes", body="The red dragon sleeps under the hill."),
        "draft": write(user_api, "Secret dragon plans", status="draft"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # English stemming: "dragons" finds "dragon", "trained" finds "train".
        ("dragons", ["dragon", "body"]),
        ("trained", ["dragon"]),
        # Accents are ignored either way.
        ("cafe", ["cafe"]),
        ("CAFÉ", ["cafe"]),
        # Title, description, tag names and body are all searched.
        ("vienna", ["cafe"]),
        ("kubernetes", ["tagged"]),
        ("hill", ["body"]),
        # Every word must match; a "phrase" must match as written; -excludes; or.
        ("dragon fish", ["dragon"]),
        ('"red dragon"', ["body"]),
        ('"dragon red"', []),
        ("dragon -fish", ["body"]),
        ('dragon -"red dragon"', ["dragon"]),
        ("espresso or kubernetes", ["tagged", "cafe"]),
        # Stop words are not looked for.
        ("the dragon", ["dragon", "body"]),
        ("nothing-here", []),
    ],
)
def test_search_finds_what_the_search_box_asks_for(library, query, expected):
    assert found(query) == [library[name] for name in expected]


def test_a_draft_is_found_by_nobody(library, user_api, other_api):
    for client in (None, user_api, other_api):
        assert library["draft"] not in found("secret plans", client)


def test_a_title_match_ranks_above_a_description_match_above_a_body_match(user, user_api):
    # Written oldest first, so that newest-first alone would give the opposite order.
    in_title = write(user_api, "Dragon keeping")
    in_description = write(user_api, "Keeping notes", description="About a dragon.")
    in_tags = write(user_api, "More notes", tags=["dragon"])
    in_body = write(user_api, "Other notes", body="Then a dragon came.")
    newer_in_title = write(user_api, "Dragon riding")

    assert found("dragon") == [newer_in_title, in_title, in_tags, in_description, in_body]


def test_a_search_combines_with_the_filters_and_the_page(user, other_user, user_api, other_api):
    mine = [write(user_api, f"Dragon tale {n}", tags=["fantasy"]) for n in range(3)]
    theirs = write(other_api, "Dragon tale of theirs", tags=["fantasy"])
    untagged = write(user_api, "Dragon tale untagged")
    Favorite.objects.create(user=other_user, article_id=_pk(mine[0]))
    client = http_client()

    def page(**query):
        return client.get("/api/articles", {"search": "dragon", **query}).json()

    assert _slugs(page(tag="fantasy")) == [theirs, *reversed(mine)]
    assert _slugs(page(author=user.username)) == [untagged, *reversed(mine)]
    assert _slugs(page(favorited=other_user.username)) == [mine[0]]
    assert _slugs(page(tag="fantasy", author=user.username, favorited="jane")) == [mine[0]]
    assert page(limit=2, offset=1) == {
        "articles": page(limit=100)["articles"][1:3],
        "articlesCount": 5,
        "nextCursor": None,
    }


def test_the_index_follows_every_write(user_api):
    slug = write(user_api, "Dragon keeping", tags=["beasts"])

    user_api.put(
        f"/api/articles/{slug}",
        {"article": {"title": "Griffin keeping", "tagList": ["birds"]}},
        format="json",
    )
    new_slug = found("griffin")[0]
    assert (found("dragon"), found("beasts"), found("birds")) == ([], [], [new_slug])

    user_api.put(f"/api/articles/{new_slug}", {"article": {"status": "draft"}}, format="json")
    assert found("griffin") == []
    user_api.put(f"/api/articles/{new_slug}", {"article": {"status": "published"}}, format="json")
    assert found("griffin") == [new_slug]

    user_api.delete(f"/api/articles/{new_slug}")
    assert found("griffin") == []


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_search_is_no_filter(library, query):
    assert len(found(query)) == 4


@pytest.mark.parametrize("query", ["-", "!!!", "or", '""', "- or -", "&|!():*", "the of and"])
def test_operators_or_punctuation_only_find_nothing(library, query):
    response = http_client().get("/api/articles", {"search": query})

    assert response.status_code == 200
    assert response.json() == {"articles": [], "articlesCount": 0, "nextCursor": None}


def test_a_search_over_200_characters_is_refused(api):
    response = api.get("/api/articles", {"search": "x" * 201})

    assert response.status_code == 422
    assert response.json() == {
        "errors": {"search": ["Ensure this field has no more than 200 characters."]}
    }


def test_a_search_is_given_once(api):
    response = api.get("/api/articles?search=a&search=b")

    assert response.status_code == 422
    assert response.json() == {"errors": {"search": ["Give this parameter once."]}}


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=60) | st.text(alphabet='"-() |&!:*^~\\\x00orORnot', max_size=30))
def test_any_text_is_a_page_or_a_refusal_never_an_error(library, query):
    response = http_client().get("/api/articles", {"search": query})

    assert response.status_code in (200, 422), (query, response.content)
    if response.status_code == 200:
        body = response.json()
        assert body["articlesCount"] == len(body["articles"])
    else:
        assert list(response.json()["errors"]) == ["search"]


def test_search_ranks_newest_publication_first_within_a_tier(user_api):
    now = timezone.now()
    slugs = [write(user_api, f"Dragon {n}") for n in range(3)]
    # The first written was published last.
    for n, slug in enumerate(slugs):
        Article.objects.filter(slug=slug).update(published_at=now - timedelta(days=n))

    assert found("dragon") == slugs


def _pk(slug: str) -> int:
    return Article.objects.get(slug=slug).pk


def _slugs(page: dict) -> list[str]:
    return [article["slug"] for article in page["articles"]]
