"""Lists of articles and the feed: order, paging, filters, counts and the reader's flags."""

import pytest
from django.utils import timezone

from resources.models import Favorite, Follow
from tests import recipes
from tests.clients import client_for
from tests.recipes import make_article

pytestmark = pytest.mark.django_db


def test_list_is_newest_first_without_bodies(api, user):
    make_article(user, slug="older", minutes_ago=10, tags=["x"])
    make_article(user, slug="newer", minutes_ago=1)

    response = api.get("/api/articles")

    assert response.status_code == 200
    body = response.json()
    assert body["articlesCount"] == 2
    assert [a["slug"] for a in body["articles"]] == ["newer", "older"]
    assert all("body" not in a for a in body["articles"])
    # A list item is the article (whose keys tests/test_article.py pins) without its body.
    single = api.get("/api/articles/newer").json()["article"]
    assert set(body["articles"][0]) == set(single) - {"body", "bodyHtml"}


def test_articles_created_at_the_same_moment_have_a_stable_order(api, user):
    when = timezone.now()
    made = [recipes.article.make(author=user, created_at=when, updated_at=when) for _ in range(5)]

    slugs = [a["slug"] for a in api.get("/api/articles").json()["articles"]]

    assert slugs == [a.slug for a in sorted(made, key=lambda a: a.pk, reverse=True)]


def test_an_empty_list(api):
    assert api.get("/api/articles").json() == {
        "articles": [],
        "articlesCount": 0,
        "nextCursor": None,
    }


def test_limit_and_offset_page_through_and_count_stays_the_total(api, user):
    for n in range(25):
        make_article(user, slug=f"a{n:02d}", minutes_ago=n)

    first = api.get("/api/articles").json()
    second = api.get("/api/articles?limit=10&offset=20").json()
    beyond = api.get("/api/articles?offset=1000").json()

    assert len(first["articles"]) == 20
    assert first["articlesCount"] == second["articlesCount"] == beyond["articlesCount"] == 25
    assert [a["slug"] for a in second["articles"]] == ["a20", "a21", "a22", "a23", "a24"]
    assert beyond["articles"] == []


def test_a_limit_above_the_maximum_is_clamped(api, user):
    recipes.article.make(author=user, _quantity=105)

    body = api.get("/api/articles?limit=1000").json()

    assert len(body["articles"]) == 100
    assert body["articlesCount"] == 105


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("limit=abc", {"limit": ["A valid integer is required."]}),
        ("limit=", {"limit": ["A valid integer is required."]}),
        ("limit=5&limit=6", {"limit": ["Give this parameter once."]}),
        ("tag=a&tag=b&author=x", {"tag": ["Give this parameter once."]}),
        ("limit=1.5", {"limit": ["A valid integer is required."]}),
        ("limit=-1", {"limit": ["Ensure this value is greater than or equal to 1."]}),
        ("limit=0", {"limit": ["Ensure this value is greater than or equal to 1."]}),
        ("offset=-5", {"offset": ["Ensure this value is greater than or equal to 0."]}),
        ("offset=x", {"offset": ["A valid integer is required."]}),
        (
            "offset=" + "9" * 40,
            {"offset": ["Ensure this value is less than or equal to 2147483647."]},
        ),
        (
            "limit=x&offset=-1",
            {
                "limit": ["A valid integer is required."],
                "offset": ["Ensure this value is greater than or equal to 0."],
            },
        ),
    ],
)
def test_bad_paging_parameters_are_422(api, query, errors):
    response = api.get(f"/api/articles?{query}")

    assert response.status_code == 422
    assert response.json() == {"errors": errors}


def test_a_query_validated_before_answers_the_same_and_others_are_still_checked(api, user):
    # Valid query strings are remembered per process (resources/views.py): the same string gets
    # the same page, another string is validated on its own.
    recipes.article.make(author=user, _quantity=3)

    first = api.get("/api/articles?limit=2&offset=1").json()
    assert api.get("/api/articles?limit=2&offset=1").json() == first
    assert len(first["articles"]) == 2
    assert api.get("/api/articles?limit=2&offset=1&limit=3").status_code == 422
    assert api.get("/api/articles/feed?limit=2&offset=1").status_code == 401
    assert len(api.get("/api/articles?limit=1&offset=1").json()["articles"]) == 1


def test_bad_paging_parameters_are_422_on_the_feed_too(user_api):
    response = user_api.get("/api/articles/feed?limit=abc")

    assert response.status_code == 422
    assert response.json() == {"errors": {"limit": ["A valid integer is required."]}}


def test_a_huge_limit_is_clamped_not_an_error(api, user):
    recipes.article.make(author=user)

    response = api.get("/api/articles?limit=" + "9" * 5000)

    assert response.status_code == 200
    assert response.json()["articlesCount"] == 1


def test_filters_by_tag_author_and_favorited_combine(api, user, other_user):
    a = make_article(user, slug="a", tags=["dragons"], minutes_ago=3)
    make_article(user, slug="b", tags=["training"], minutes_ago=2)
    c = make_article(other_user, slug="c", tags=["dragons"], minutes_ago=1)
    Favorite.objects.create(user=other_user, article=a)
    Favorite.objects.create(user=other_user, article=c)

    def slugs(query):
        body = api.get(f"/api/articles?{query}").json()
        assert body["articlesCount"] == len(body["articles"])
        return [x["slug"] for x in body["articles"]]

    assert slugs("tag=dragons") == ["c", "a"]
    assert slugs("author=jake") == ["b", "a"]
    assert slugs("author=JAKE") == ["b", "a"]
    assert slugs("favorited=jane") == ["c", "a"]
    assert slugs("tag=dragons&author=jake") == ["a"]
    assert slugs("tag=dragons&favorited=jane&author=jane") == ["c"]
    assert slugs("tag=training&favorited=jane") == []
    assert slugs("tag=unknown") == []
    assert slugs("author=nobody") == []
    assert slugs("favorited=nobody") == []
    assert slugs("tag=&author=&favorited=") == ["c", "b", "a"]


def test_filter_count_is_the_filtered_total_not_the_page(api, user):
    for n in range(5):
        make_article(user, tags=["x"], minutes_ago=n)
    make_article(user, tags=["y"])

    body = api.get("/api/articles?tag=x&limit=2").json()

    assert (len(body["articles"]), body["articlesCount"]) == (2, 5)


@pytest.mark.parametrize("query", ["tag=%00", "author=a%00b", "favorited=%00"])
def test_nul_bytes_in_filters_are_422(api, query):
    response = api.get(f"/api/articles?{query}")

    assert response.status_code == 422
    assert list(response.json()["errors"].values()) == [["Null characters are not allowed."]]


def test_list_shows_the_readers_favorited_and_following(user, other_user, user_api):
    article = make_article(other_user, slug="s")
    Favorite.objects.create(user=user, article=article)
    Follow.objects.create(follower=user, followee=other_user)

    [item] = user_api.get("/api/articles").json()["articles"]

    assert (item["favorited"], item["favoritesCount"], item["author"]["following"]) == (
        True,
        1,
        True,
    )


def test_feed_holds_only_articles_by_followed_authors(user, other_user, user_api, make_user):
    followed_two = make_user(username="followed2")
    stranger = make_user(username="stranger")
    Follow.objects.create(follower=user, followee=other_user)
    Follow.objects.create(follower=user, followee=followed_two)
    make_article(other_user, slug="one", minutes_ago=3)
    make_article(followed_two, slug="two", minutes_ago=1)
    make_article(stranger, slug="not-mine", minutes_ago=2)
    make_article(user, slug="my-own", minutes_ago=0)

    body = user_api.get("/api/articles/feed").json()

    assert [a["slug"] for a in body["articles"]] == ["two", "one"]
    assert body["articlesCount"] == 2
    assert all(a["author"]["following"] for a in body["articles"])
    assert all("body" not in a for a in body["articles"])


def test_feed_pages_like_the_list(user, other_user, user_api):
    Follow.objects.create(follower=user, followee=other_user)
    for n in range(7):
        make_article(other_user, slug=f"f{n}", minutes_ago=n)

    body = user_api.get("/api/articles/feed?limit=3&offset=3").json()

    assert [a["slug"] for a in body["articles"]] == ["f3", "f4", "f5"]
    assert body["articlesCount"] == 7


def test_an_empty_feed(user_api):
    assert user_api.get("/api/articles/feed").json() == {
        "articles": [],
        "articlesCount": 0,
        "nextCursor": None,
    }


def test_feed_needs_a_token(api):
    response = api.get("/api/articles/feed")

    assert response.status_code == 401
    assert response.json() == {
        "errors": {"body": ["Authentication credentials were not provided."]}
    }


def test_another_readers_feed_is_their_own(user, other_user, make_user):
    third = make_user(username="third")
    Follow.objects.create(follower=third, followee=other_user)
    make_article(other_user, slug="for-third")

    assert client_for(user).get("/api/articles/feed").json()["articlesCount"] == 0
    assert client_for(third).get("/api/articles/feed").json()["articlesCount"] == 1
