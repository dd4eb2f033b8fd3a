"""manage.py seed_demo: realistic, deterministic, idempotent demo content, in bulk."""

import io

import pytest
from django.core.management import call_command
from django.db.models import F

from resources.models import Article, ArticleTag, Comment, Favorite, Follow, Tag, User
from tests import recipes

pytestmark = pytest.mark.django_db

SIZE = [
    "--users",
    "8",
    "--articles",
    "30",
    "--tags",
    "12",
    "--favorites",
    "60",
    "--follows",
    "15",
    "--comments",
    "25",
]


def snapshot():
    return {
        "users": sorted(User.objects.values_list("username", "email", "bio")),
        "articles": sorted(
            Article.objects.values_list(
                "slug",
                "title",
                "description",
                "body",
                "author__username",
                "created_at",
                "updated_at",
            )
        ),
        "tags": sorted(ArticleTag.objects.values_list("article__slug", "tag__name")),
        "favorites": sorted(Favorite.objects.values_list("user__username", "article__slug")),
        "follows": sorted(Follow.objects.values_list("follower__username", "followee__username")),
        "comments": sorted(
            Comment.objects.values_list("article__slug", "author__username", "body", "created_at")
        ),
    }


def test_seed_creates_the_requested_size():
    call_command("seed_demo", *SIZE, stdout=None)

    assert User.objects.count() == 8
    assert Article.objects.count() == 30
    assert Tag.objects.count() == 12
    assert ArticleTag.objects.count() == 90
    assert Favorite.objects.count() == 60
    assert Follow.objects.count() == 15
    assert Comment.objects.count() == 25
    assert not Follow.objects.filter(follower=F("followee")).exists()


def test_seed_is_idempotent():
    call_command("seed_demo", *SIZE)
    first = snapshot()

    call_command("seed_demo", *SIZE)

    assert snapshot() == first


def test_seed_is_deterministic():
    call_command("seed_demo", *SIZE)
    first = snapshot()
    for model in (Comment, Favorite, Follow, ArticleTag, Article, Tag, User):
        model.objects.all().delete()

    call_command("seed_demo", *SIZE)

    assert snapshot() == first


def test_a_bigger_run_adds_to_a_smaller_one():
    call_command("seed_demo", "--users", "5", "--articles", "10")

    call_command("seed_demo", "--users", "5", "--articles", "25")

    assert Article.objects.count() == 25
    assert User.objects.count() == 5


def test_demo_content_is_served(api):
    call_command("seed_demo")

    body = api.get("/api/articles").json()
    assert body["articlesCount"] == 40
    assert len(body["articles"]) == 20
    assert all(a["tagList"] for a in body["articles"])
    assert api.get("/api/tags").json()["tags"]


def test_demo_users_can_sign_in(api):
    call_command("seed_demo", "--users", "2", "--articles", "0")
    email = User.objects.order_by("pk").first().email

    response = api.post(
        "/api/users/login", {"user": {"email": email, "password": "conduit-demo"}}, format="json"
    )

    assert response.status_code == 200


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_reports_what_it_added_and_what_was_already_there():
    first = seed(*SIZE)
    second = seed(*SIZE)

    assert first == (
        "Demo content added: 8 users, 12 tags, 30 articles, 25 comments, 15 follows, "
        "60 favorites. Already there: 0 users, 0 tags, 0 articles, 0 comments, 0 follows, "
        "0 favorites. Demo users sign in with password 'conduit-demo'.\n"
    )
    assert second == (
        "Demo content added: 0 users, 0 tags, 0 articles, 0 comments, 0 follows, "
        "0 favorites. Already there: 8 users, 12 tags, 30 articles, 25 comments, 15 follows, "
        "60 favorites. Demo users sign in with password 'conduit-demo'.\n"
    )


def test_seed_counts_only_its_own_rows(user, other_user):
    article = recipes.make_article(user, tags=["knitting"])
    recipes.comment.make(article=article, author=other_user)
    Favorite.objects.create(user=other_user, article=article)
    Follow.objects.create(follower=other_user, followee=user)

    report = seed(*SIZE)

    assert report.startswith(
        "Demo content added: 8 users, 12 tags, 30 articles, 25 comments, 15 follows, "
        "60 favorites. Already there: 0 users, 0 tags, 0 articles, 0 comments, 0 follows, "
        "0 favorites."
    )
