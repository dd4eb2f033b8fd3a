"""The Django admin at /admin/: moderation of users, articles, comments and tags."""

import pytest
from django.core.management import call_command

from resources.models import Article, Comment, Tag, User
from tests.recipes import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, make_user):
    admin = make_user(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    call_command("seed_demo", "--users", "4", "--articles", "6", "--comments", "4")
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/resources/user/",
        "/admin/resources/user/?q=ada&is_active__exact=1",
        "/admin/resources/article/",
        "/admin/resources/article/?q=python",
        "/admin/resources/comment/",
        "/admin/resources/comment/?q=thank",
        "/admin/resources/tag/",
        "/admin/resources/tag/?q=py&o=2",
    ],
)
def test_admin_pages_with_search_and_filters(staff_client, path):
    assert staff_client.get(path).status_code == 200


@pytest.mark.parametrize("model", [User, Article, Comment, Tag])
def test_admin_change_pages(staff_client, model):
    obj = model.objects.order_by("pk").first()
    name = model._meta.model_name

    assert staff_client.get(f"/admin/resources/{name}/{obj.pk}/change/").status_code == 200


def test_a_moderator_deletes_an_article_and_its_comments_go_too(staff_client):
    article = Article.objects.filter(comments__isnull=False)[0]

    response = staff_client.post(f"/admin/resources/article/{article.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Article.objects.filter(pk=article.pk).exists()
    assert not Comment.objects.filter(article_id=article.pk).exists()


def test_the_admin_is_for_staff_only(client, user):
    client.force_login(user)

    response = client.get("/admin/resources/article/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_sign_in_to_the_admin_with_their_email_in_any_case(client, make_user):
    make_user(username="mod", email="mod@example.com", is_staff=True)

    response = client.post(
        "/admin/login/?next=/admin/", {"username": "MOD@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
