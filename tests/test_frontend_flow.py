"""What a RealWorld frontend does, request by request: sign up, write an article with tags, see it
in the global feed and under its tag, favorite it, comment, follow its author from a second
account and see it in that account's feed, edit settings."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def signed_in(client: APIClient, response) -> dict:
    user = response.json()["user"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {user['token']}")
    return user


def test_the_whole_journey_of_two_readers():
    author, reader = APIClient(), APIClient()

    signup = author.post(
        "/api/users",
        {"user": {"username": "author", "email": "author@example.com", "password": "s3cret-pass"}},
        format="json",
    )
    assert signup.status_code == 201
    signed_in(author, signup)

    new = {
        "title": "Dragons 101",
        "description": "All about dragons",
        "body": "# Dragons\n\nThey fly.",
        "tagList": ["dragons", "101"],
    }
    created = author.post("/api/articles", {"article": new}, format="json")
    assert created.status_code == 201
    slug = created.json()["article"]["slug"]

    home = reader.get("/api/articles?limit=10&offset=0").json()
    assert [a["slug"] for a in home["articles"]] == [slug]
    assert reader.get("/api/tags").json() == {"tags": ["101", "dragons"]}
    by_tag = reader.get("/api/articles?tag=dragons&limit=10&offset=0").json()
    assert by_tag["articlesCount"] == 1

    login = reader.post(
        "/api/users",
        {"user": {"username": "reader", "email": "reader@example.com", "password": "s3cret-pass"}},
        format="json",
    )
    signed_in(reader, login)

    favorited = reader.post(f"/api/articles/{slug}/favorite").json()["article"]
    assert (favorited["favorited"], favorited["favoritesCount"]) == (True, 1)
    assert reader.get("/api/articles?favorited=reader").json()["articlesCount"] == 1

    comment = reader.post(
        f"/api/articles/{slug}/comments", {"comment": {"body": "Great read!"}}, format="json"
    ).json()["comment"]
    assert author.get(f"/api/articles/{slug}/comments").json()["comments"] == [comment]

    assert reader.get("/api/articles/feed?limit=10&offset=0").json()["articlesCount"] == 0
    followed = reader.post("/api/profiles/author/follow").json()["profile"]
    assert followed["following"] is True
    feed = reader.get("/api/articles/feed?limit=10&offset=0").json()
    assert [a["slug"] for a in feed["articles"]] == [slug]
    assert feed["articles"][0]["author"]["following"] is True
    assert feed["articles"][0]["favorited"] is True

    settings = reader.put(
        "/api/user",
        {
            "user": {
                "image": "https://example.com/reader.png",
                "username": "reader",
                "bio": "I read things",
                "email": "reader@example.com",
                "password": "a-new-password",
            }
        },
        format="json",
    )
    assert settings.status_code == 200
    signed_in(reader, settings)
    assert reader.get("/api/profiles/reader").json()["profile"] == {
        "username": "reader",
        "bio": "I read things",
        "image": "https://example.com/reader.png",
        "following": False,
    }
    relogin = APIClient().post(
        "/api/users/login",
        {"user": {"email": "reader@example.com", "password": "a-new-password"}},
        format="json",
    )
    assert relogin.status_code == 200

    edited = author.put(
        f"/api/articles/{slug}", {"article": {"title": "Dragons 102"}}, format="json"
    ).json()["article"]
    assert edited["slug"] == "dragons-102"
    assert author.delete(f"/api/articles/{edited['slug']}").status_code == 204
    assert reader.get("/api/articles/feed").json() == {
        "articles": [],
        "articlesCount": 0,
        "nextCursor": None,
    }
