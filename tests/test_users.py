"""POST /api/users, POST /api/users/login, GET and PUT /api/user."""

import pytest
from django.contrib.auth.hashers import identify_hasher

from resources.models import User
from tests.clients import client_for
from tests.recipes import PASSWORD

pytestmark = pytest.mark.django_db

USERNAME_MESSAGE = (
    "Enter a username of letters, digits and . _ - (starting with a letter or digit)."
)
NEW_USER = {"username": "Jacob", "email": "jake@jake.jake", "password": "jakejake"}


def register(api, **fields):
    return api.post("/api/users", {"user": {**NEW_USER, **fields}}, format="json")


# --- Registration -----------------------------------------------------------------------------


def test_register_answers_201_with_the_user_and_a_working_token(api):
    response = register(api)

    assert response.status_code == 201
    body = response.json()
    token = body["user"].pop("token")
    assert body == {
        "user": {"email": "jake@jake.jake", "username": "Jacob", "bio": "", "image": None}
    }
    me = api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "Jacob"


def test_register_stores_an_argon2_hash_never_the_password(api):
    register(api)

    user = User.objects.get(username="Jacob")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert NEW_USER["password"] not in user.password
    assert user.check_password(NEW_USER["password"])


@pytest.mark.parametrize(
    ("fields", "taken"),
    [
        ({"email": "JAKE@JAKE.JAKE", "username": "someone"}, ["email"]),
        ({"email": "other@example.com", "username": "JACOB"}, ["username"]),
        ({"email": "Jake@Jake.Jake", "username": "jacob"}, ["email", "username"]),
    ],
)
def test_register_refuses_an_email_or_username_taken_in_any_letter_case(api, fields, taken):
    register(api)

    response = register(api, **fields)

    assert response.status_code == 422
    messages = {
        "email": ["A user with that email already exists."],
        "username": ["A user with that username already exists."],
    }
    assert response.json() == {"errors": {name: messages[name] for name in taken}}
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"email": "not-an-email"}, {"email": ["Enter a valid email address."]}),
        ({"email": ""}, {"email": ["This field may not be blank."]}),
        ({"username": ""}, {"username": ["This field may not be blank."]}),
        *(
            ({"username": bad}, {"username": [USERNAME_MESSAGE]})
            for bad in ["has space", "a/b", "josé", ".hidden", "-dash", ".."]
        ),
        (
            {"username": "x" * 65},
            {"username": ["Ensure this field has no more than 64 characters."]},
        ),
        ({"password": "short"}, {"password": ["Ensure this field has at least 8 characters."]}),
        ({"password": None}, {"password": ["This field may not be null."]}),
        ({"username": 42}, {"username": ["Not a valid string."]}),
        ({"email": ["a@b.c"]}, {"email": ["Not a valid string."]}),
    ],
)
def test_register_names_each_bad_field(api, fields, errors):
    response = register(api, **fields)

    assert response.status_code == 422
    assert response.json() == {"errors": errors}
    assert not User.objects.exists()


def test_register_names_every_missing_field(api):
    response = api.post("/api/users", {"user": {}}, format="json")

    assert response.status_code == 422
    required = ["This field is required."]
    assert response.json() == {
        "errors": {"username": required, "email": required, "password": required}
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"user": ["This field is required."]}),
        ({"user": "jake"}, {"user": ["Invalid data. Expected a dictionary, but got str."]}),
        ({"user": None}, {"user": ["This field may not be null."]}),
        ({"user": [1, 2]}, {"user": ["Invalid data. Expected a dictionary, but got list."]}),
        ([NEW_USER], {"body": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
)
def test_register_with_a_missing_or_malformed_envelope_is_a_422(api, body, errors):
    response = api.post("/api/users", body, format="json")

    assert response.status_code == 422
    assert response.json() == {"errors": errors}


def test_fields_a_client_must_not_set_are_ignored_on_registration(api):
    response = register(api, is_staff=True, is_superuser=True, id=999, bio="hacker")

    assert response.status_code == 201
    user = User.objects.get()
    assert (user.is_staff, user.is_superuser, user.bio) == (False, False, "")
    assert user.pk != 999


# --- Login ------------------------------------------------------------------------------------


def test_login_answers_the_user_with_a_token(api, user):
    response = api.post(
        "/api/users/login",
        {"user": {"email": "JAKE@jake.jake", "password": PASSWORD}},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    token = body["user"].pop("token")
    assert body == {
        "user": {
            "email": "jake@jake.jake",
            "username": "jake",
            "bio": "I work at statefarm",
            "image": None,
        }
    }
    assert api.get("/api/user", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "jake@jake.jake", "password": "wrong password"},
        {"email": "nobody@example.com", "password": PASSWORD},
        {"email": "not even an email", "password": PASSWORD},
    ],
)
def test_login_failures_look_the_same_whoever_is_registered(api, user, credentials):
    response = api.post("/api/users/login", {"user": credentials}, format="json")

    assert response.status_code == 401
    assert response.json() == {"errors": {"body": ["Invalid email or password."]}}
    assert response["WWW-Authenticate"] == "Token"


def test_login_of_an_inactive_user_fails_like_a_wrong_password(api, make_user):
    make_user(email="gone@example.com", is_active=False)

    response = api.post(
        "/api/users/login",
        {"user": {"email": "gone@example.com", "password": PASSWORD}},
        format="json",
    )

    assert response.status_code == 401
    assert response.json() == {"errors": {"body": ["Invalid email or password."]}}


def test_login_names_missing_fields(api):
    response = api.post("/api/users/login", {"user": {"email": "jake@jake.jake"}}, format="json")

    assert response.status_code == 422
    assert response.json() == {"errors": {"password": ["This field is required."]}}


# --- Current user -----------------------------------------------------------------------------


def test_current_user_answers_the_presented_token(user, user_api):
    response = user_api.get("/api/user")

    assert response.status_code == 200
    token = user_api._credentials["HTTP_AUTHORIZATION"].split()[1]
    assert response.json() == {
        "user": {
            "email": "jake@jake.jake",
            "token": token,
            "username": "jake",
            "bio": "I work at statefarm",
            "image": None,
        }
    }


def test_current_user_needs_a_token(api):
    response = api.get("/api/user")

    assert response.status_code == 401
    assert response.json() == {
        "errors": {"body": ["Authentication credentials were not provided."]}
    }
    assert response["WWW-Authenticate"] == "Token"


def test_update_changes_only_the_given_fields(user, user_api):
    response = user_api.put(
        "/api/user",
        {"user": {"bio": "I like to skateboard", "image": "https://i.stack.imgur.com/xHWG8.jpg"}},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    body["user"].pop("token")
    assert body == {
        "user": {
            "email": "jake@jake.jake",
            "username": "jake",
            "bio": "I like to skateboard",
            "image": "https://i.stack.imgur.com/xHWG8.jpg",
        }
    }
    user.refresh_from_db()
    assert (user.bio, user.image) == ("I like to skateboard", "https://i.stack.imgur.com/xHWG8.jpg")


@pytest.mark.parametrize("cleared", [None, ""])
def test_update_can_clear_the_image(make_user, cleared):
    user = make_user(image="https://example.com/me.png")

    response = client_for(user).put("/api/user", {"user": {"image": cleared}}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["image"] is None
    user.refresh_from_db()
    assert user.image is None


def test_update_can_clear_the_bio_with_null(user, user_api):
    response = user_api.put("/api/user", {"user": {"bio": None}}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["bio"] == ""


@pytest.mark.parametrize(
    "image",
    ["javascript:alert(1)", "data:image/png;base64,AAAA", "ftp://example.com/a.png", "not a url"],
)
def test_update_refuses_an_image_that_is_not_an_http_url(user, user_api, image):
    response = user_api.put("/api/user", {"user": {"image": image}}, format="json")

    assert response.status_code == 422
    assert response.json() == {"errors": {"image": ["Enter a valid URL."]}}
    user.refresh_from_db()
    assert user.image is None


def test_update_of_the_password_hashes_it_and_retires_older_tokens(user, user_api, api):
    response = user_api.put(
        "/api/user", {"user": {"password": "a brand new secret"}}, format="json"
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password("a brand new secret")
    assert user_api.get("/api/user").status_code == 401
    new_token = response.json()["user"]["token"]
    assert api.get("/api/user", HTTP_AUTHORIZATION=f"Token {new_token}").status_code == 200


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"email": "JANE@example.com"}, {"email": ["A user with that email already exists."]}),
        ({"username": "Jane"}, {"username": ["A user with that username already exists."]}),
    ],
)
def test_update_keeps_email_and_username_unique(user, user_api, other_user, fields, errors):
    response = user_api.put("/api/user", {"user": fields}, format="json")

    assert response.status_code == 422
    assert response.json() == {"errors": errors}
    user.refresh_from_db()
    assert (user.email, user.username) == ("jake@jake.jake", "jake")


def test_update_to_own_email_in_another_case_is_allowed(user, user_api):
    response = user_api.put("/api/user", {"user": {"email": "Jake@Jake.Jake"}}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["email"] == "Jake@jake.jake"


def test_update_with_no_field_is_a_422(user_api):
    response = user_api.put("/api/user", {"user": {}}, format="json")

    assert response.status_code == 422
    assert response.json() == {"errors": {"user": ["Give at least one field to update."]}}


def test_update_ignores_fields_a_client_must_not_set(user, user_api):
    response = user_api.put(
        "/api/user",
        {"user": {"bio": "x", "is_staff": True, "is_superuser": True, "is_active": False, "id": 7}},
        format="json",
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)


def test_update_needs_a_token(api):
    response = api.put("/api/user", {"user": {"bio": "x"}}, format="json")

    assert response.status_code == 401
