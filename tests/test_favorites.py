"""POST and DELETE /api/articles/{slug}/favorite."""

import pytest

from resources.models import Favorite
from tests import recipes

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(other_user):
    return recipes.article.make(author=other_user, slug="the-article")


def test_favorite_answers_the_article_as_the_reader_sees_it(article, user, user_api):
    response = user_api.post("/api/articles/the-article/favorite")

    assert response.status_code == 200
    body = response.json()["article"]
    assert (body["slug"], body["favorited"], body["favoritesCount"]) == ("the-article", True, 1)
    assert body["body"] == article.body
    assert Favorite.objects.filter(user=user, article=article).count() == 1


def test_favoriting_twice_counts_once(article, user_api):
    user_api.post("/api/articles/the-article/favorite")
    response = user_api.post("/api/articles/the-article/favorite")

    assert response.json()["article"]["favoritesCount"] == 1
    assert Favorite.objects.count() == 1


def test_favorites_count_counts_every_reader(article, user_api, other_api, make_user):
    recipes.user.make(_quantity=3)
    Favorite.objects.bulk_create(
        [Favorite(user=u, article=article) for u in recipes.user.make(_quantity=3)]
    )

    response = user_api.post("/api/articles/the-article/favorite")

    assert response.json()["article"]["favoritesCount"] == 4
    assert other_api.get("/api/articles/the-article").json()["article"]["favorited"] is False


def test_unfavorite_answers_the_article_and_is_idempotent(article, user, user_api):
    Favorite.objects.create(user=user, article=article)

    first = user_api.delete("/api/articles/the-article/favorite")
    second = user_api.delete("/api/articles/the-article/favorite")

    for response in (first, second):
        assert response.status_code == 200
        body = response.json()["article"]
        assert (body["favorited"], body["favoritesCount"]) == (False, 0)
    assert not Favorite.objects.exists()


def test_favorite_of_an_unknown_article_is_404(user_api):
    response = user_api.post("/api/articles/nope/favorite")

    assert response.status_code == 404
    assert response.json() == {"errors": {"body": ["Article not found."]}}


@pytest.mark.parametrize("method", ["post", "delete"])
def test_favorite_needs_a_token(api, article, method):
    response = getattr(api, method)("/api/articles/the-article/favorite")

    assert response.status_code == 401
    assert not Favorite.objects.exists()


def test_you_may_favorite_your_own_article(article, other_api):
    assert other_api.post("/api/articles/the-article/favorite").json()["article"]["favorited"]
