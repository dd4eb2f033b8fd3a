"""GET and POST /api/articles/{slug}/comments, DELETE /api/articles/{slug}/comments/{id}."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from resources.models import Comment, Follow
from tests import recipes

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def article(user):
    return recipes.article.make(author=user, slug="the-article")


def post_comment(client, body="Thank you!", slug="the-article"):
    return client.post(f"/api/articles/{slug}/comments", {"comment": {"body": body}}, format="json")


def test_post_answers_200_with_the_comment(article, other_user, other_api):
    response = post_comment(other_api, "His name was my name too.")

    assert response.status_code == 200
    comment = response.json()["comment"]
    assert TIMESTAMP.match(comment.pop("createdAt"))
    assert TIMESTAMP.match(comment.pop("updatedAt"))
    assert comment == {
        "id": Comment.objects.get().pk,
        "body": "His name was my name too.",
        "bodyHtml": "<p>His name was my name too.</p>\n",
        "author": {"username": "jane", "bio": "", "image": None, "following": False},
    }


def test_comments_are_listed_oldest_first_for_anyone(api, article, user, other_user):
    now = timezone.now()
    newer = recipes.comment.make(article=article, author=user, created_at=now, updated_at=now)
    older = recipes.comment.make(
        article=article, author=other_user, created_at=now - timedelta(hours=1), updated_at=now
    )
    recipes.comment.make(author=user)  # on another article

    response = api.get("/api/articles/the-article/comments")

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["comments"]] == [older.pk, newer.pk]


def test_no_comments_is_an_empty_list(api, article):
    assert api.get("/api/articles/the-article/comments").json() == {"comments": []}


def test_comment_authors_show_whether_the_reader_follows_them(article, user, other_user, user_api):
    recipes.comment.make(article=article, author=other_user)
    Follow.objects.create(follower=user, followee=other_user)

    [comment] = user_api.get("/api/articles/the-article/comments").json()["comments"]

    assert comment["author"]["following"] is True


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ("", {"body": ["This field may not be blank."]}),
        ("x" * 10_001, {"body": ["Ensure this field has no more than 10000 characters."]}),
        (42, {"body": ["Not a valid string."]}),
        (None, {"body": ["This field may not be null."]}),
    ],
)
def test_bad_comments_are_422_and_not_written(article, user_api, body, errors):
    response = post_comment(user_api, body)

    assert response.status_code == 422
    assert response.json() == {"errors": errors}
    assert not Comment.objects.exists()


def test_a_missing_comment_envelope_is_422(article, user_api):
    response = user_api.post("/api/articles/the-article/comments", {"body": "x"}, format="json")

    assert response.status_code == 422
    assert response.json() == {"errors": {"comment": ["This field is required."]}}


def test_commenting_needs_a_token(api, article):
    assert post_comment(api).status_code == 401
    assert not Comment.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_comments_of_an_unknown_article_are_404(user_api, method):
    response = (
        user_api.get("/api/articles/nope/comments")
        if method == "get"
        else post_comment(user_api, slug="nope")
    )

    assert response.status_code == 404
    assert response.json() == {"errors": {"body": ["Article not found."]}}


def test_the_comment_author_deletes_with_204(article, other_user, other_api):
    comment = recipes.comment.make(article=article, author=other_user)

    response = other_api.delete(f"/api/articles/the-article/comments/{comment.pk}")

    assert response.status_code == 204
    assert not Comment.objects.exists()


def test_only_the_comment_author_may_delete_it_not_even_the_article_author(
    article, other_user, user_api
):
    comment = recipes.comment.make(article=article, author=other_user)

    response = user_api.delete(f"/api/articles/the-article/comments/{comment.pk}")

    assert response.status_code == 403
    assert response.json() == {"errors": {"body": ["Only the author may change or delete this."]}}
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_a_comment_id_of_another_article_is_404(article, user, user_api):
    elsewhere = recipes.comment.make(author=user)

    response = user_api.delete(f"/api/articles/the-article/comments/{elsewhere.pk}")

    assert response.status_code == 404
    assert Comment.objects.filter(pk=elsewhere.pk).exists()


@pytest.mark.parametrize("comment_id", ["999999", "abc", "-1", "1.5", "9" * 30])
def test_unknown_or_malformed_comment_ids_are_404(article, user_api, comment_id):
    response = user_api.delete(f"/api/articles/the-article/comments/{comment_id}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_deleting_a_comment_needs_a_token(api, article, user):
    comment = recipes.comment.make(article=article, author=user)

    assert api.delete(f"/api/articles/the-article/comments/{comment.pk}").status_code == 401
    assert Comment.objects.exists()
