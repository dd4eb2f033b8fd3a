"""GET /api/tags."""

import pytest

from resources.models import ArticleTag, Tag
from tests import recipes

pytestmark = pytest.mark.django_db


def tag_article(article, *names):
    for name in names:
        ArticleTag.objects.create(article=article, tag=Tag.objects.get_or_create(name=name)[0])


def test_tags_in_use_most_used_first_then_by_name(api, user):
    a, b, c = recipes.article.make(author=user, _quantity=3)
    tag_article(a, "rare", "common", "middle")
    tag_article(b, "common", "middle", "also-rare")
    tag_article(c, "common")
    Tag.objects.create(name="unused")

    response = api.get("/api/tags")

    assert response.status_code == 200
    assert response.json() == {"tags": ["common", "middle", "also-rare", "rare"]}


def test_no_tags(api):
    assert api.get("/api/tags").json() == {"tags": []}


def test_a_tag_no_article_uses_any_more_disappears(api, user, user_api):
    article = recipes.article.make(author=user, slug="s")
    tag_article(article, "gone", "kept")
    tag_article(recipes.article.make(author=user), "kept")

    user_api.delete("/api/articles/s")

    assert api.get("/api/tags").json() == {"tags": ["kept"]}


def test_at_most_100_tags_are_listed(api, user):
    article = recipes.article.make(author=user)
    tag_article(article, *(f"tag{n:03d}" for n in range(120)))

    tags = api.get("/api/tags").json()["tags"]

    assert tags == [f"tag{n:03d}" for n in range(100)]
