"""GET /api/profiles/{username}, POST and DELETE /api/profiles/{username}/follow."""

import pytest

from resources.models import Follow
from tests.clients import client_for

pytestmark = pytest.mark.django_db


def profile(user, following):
    return {
        "profile": {
            "username": user.username,
            "bio": user.bio,
            "image": user.image,
            "following": following,
        }
    }


def test_anyone_can_read_a_profile(api, other_user):
    response = api.get("/api/profiles/jane")

    assert response.status_code == 200
    assert response.json() == profile(other_user, following=False)


def test_profile_lookup_ignores_letter_case(api, other_user):
    assert api.get("/api/profiles/JANE").json() == profile(other_user, following=False)


def test_following_is_true_only_for_the_reader_who_follows(
    user, user_api, other_user, other_api, make_user
):
    Follow.objects.create(follower=user, followee=other_user)
    third = make_user(username="third")

    assert user_api.get("/api/profiles/jane").json() == profile(other_user, following=True)
    assert other_api.get("/api/profiles/jake").json() == profile(user, following=False)
    assert client_for(third).get("/api/profiles/jane").json()["profile"]["following"] is False


@pytest.mark.parametrize("path", ["/api/profiles/nobody", "/api/profiles/nobody/follow"])
def test_unknown_profiles_are_404(user_api, path):
    response = user_api.get(path) if path.endswith("nobody") else user_api.post(path)

    assert response.status_code == 404
    assert response.json() == {"errors": {"body": ["Profile not found."]}}


def test_follow_answers_the_profile_and_is_idempotent(user, user_api, other_user):
    first = user_api.post("/api/profiles/jane/follow")
    second = user_api.post("/api/profiles/jane/follow")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == profile(other_user, following=True)
    assert Follow.objects.filter(follower=user, followee=other_user).count() == 1


def test_unfollow_answers_the_profile_and_is_idempotent(user, user_api, other_user):
    Follow.objects.create(follower=user, followee=other_user)

    first = user_api.delete("/api/profiles/jane/follow")
    second = user_api.delete("/api/profiles/jane/follow")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == profile(other_user, following=False)
    assert not Follow.objects.exists()


def test_following_yourself_is_a_422(user, user_api):
    response = user_api.post("/api/profiles/JAKE/follow")

    assert response.status_code == 422
    assert response.json() == {"errors": {"username": ["You cannot follow yourself."]}}
    assert not Follow.objects.exists()


@pytest.mark.parametrize("method", ["post", "delete"])
def test_follow_and_unfollow_need_a_token(api, other_user, method):
    response = getattr(api, method)("/api/profiles/jane/follow")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not Follow.objects.exists()
