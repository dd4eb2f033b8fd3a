"""HTTP clients for the tests: an anonymous one, and one signed in as a given user."""

from rest_framework.test import APIClient

from resources.authentication import token_issue
from resources.models import User


def http_client() -> APIClient:
    # CSRF checks on, as for any real client (the test client skips them by default).
    return APIClient(enforce_csrf_checks=True)


def client_for(user: User) -> APIClient:
    client = http_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return client
