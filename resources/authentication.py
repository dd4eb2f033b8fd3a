"""Authentication: signed JWTs sent as `Authorization: Token <jwt>` (or `Bearer <jwt>`).

A token names its user and carries a fingerprint of that user's password hash, so it stops working
when the password changes. Tokens in the query string are never read: they end up in logs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from resources.models import User

TOKEN_ALGORITHM = "HS256"  # noqa: S105 (an algorithm name, not a secret)
HEADER_KEYWORDS = ("token", "bearer")
AUTH_SCHEME = "Token"


def _password_fingerprint(user: User) -> str:
    return salted_hmac("conduit.token.password", user.password, algorithm="sha256").hexdigest()[:24]


def token_issue(*, user: User) -> str:
    now = datetime.now(tz=UTC)
    claims = {
        "sub": str(user.pk),
        "iat": now,
        "exp": now + settings.TOKEN_LIFETIME,
        "pwd": _password_fingerprint(user),
    }
    return jwt.encode(claims, settings.TOKEN_SIGNING_KEY, algorithm=TOKEN_ALGORITHM)


def _token_claims(token: str) -> tuple[int, str]:
    """The user id and password fingerprint a validly signed, unexpired token carries."""
    try:
        claims = jwt.decode(
            token,
            settings.TOKEN_SIGNING_KEY,
            # Only our algorithm: "none" and key-confusion tricks are refused here.
            algorithms=[TOKEN_ALGORITHM],
            options={"require": ["sub", "iat", "exp", "pwd"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("Token has expired.") from None
    except jwt.InvalidTokenError:
        raise AuthenticationFailed("Invalid token.") from None
    subject, fingerprint = claims["sub"], claims["pwd"]
    if not isinstance(subject, str) or not subject.isdigit() or not isinstance(fingerprint, str):
        raise AuthenticationFailed("Invalid token.")
    return int(subject), fingerprint


def token_user(token: str) -> User:
    """The active user a valid token names; AuthenticationFailed for anything else."""
    subject, fingerprint = _token_claims(token)
    user = User.objects.active(subject)
    if user is None or not constant_time_compare(fingerprint, _password_fingerprint(user)):
        raise AuthenticationFailed("Invalid token.")
    return user


def header_token(header: str) -> str | None:
    """The token of an `Authorization: Token <jwt>` (or `Bearer <jwt>`) header; None when the
    header does not have that shape."""
    keyword, _, token = header.strip().partition(" ")
    token = token.strip()
    if keyword.lower() not in HEADER_KEYWORDS or not token or " " in token:
        return None
    return token


def header_subject(header: str) -> int | None:
    """The user id a validly signed token in an Authorization header names, read without the
    database (the replica router needs it before authentication reads the user); None for
    anything else."""
    token = header_token(header)
    if token is None:
        return None
    try:
        return _token_claims(token)[0]
    except AuthenticationFailed:
        return None


class JWTAuthentication(BaseAuthentication):
    """No header: anonymous. A header that is not a valid token: 401, even where anonymous
    access is allowed, so a client never mistakes a broken token for being signed out."""

    def authenticate(self, request: Request) -> tuple[User, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        token = header_token(header)
        if token is None:
            raise AuthenticationFailed(
                "Invalid Authorization header: expected 'Token <jwt>' or 'Bearer <jwt>'."
            )
        return token_user(token), token

    def authenticate_header(self, request: Request) -> str:
        return AUTH_SCHEME
