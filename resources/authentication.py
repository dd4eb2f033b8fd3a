"""Authentication: signed JWTs sent as `Authorization: Token <jwt>` (or `Bearer <jwt>`).

A token names its user and carries a fingerprint of that user's password hash, so it stops working
when the password changes. Tokens in the query string are never read: they end up in logs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, router
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from resources.models import User
from resources.querysets import SIGNED_IN_USER_FIELDS

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


def _token_claims(token: str) -> tuple[int, str, float]:
    """The user id, password fingerprint and expiry (a Unix time) a validly signed, unexpired
    token carries."""
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
    return int(subject), fingerprint, float(claims["exp"])


# Tokens this process verified lately, with the columns of their user and until when they may be
# taken as they are (monotonic time). A signed-in request then costs no statement for its reader
# and no signature check. A user's change (password, deactivation, deletion) empties it in the
# process that makes it, through the signals below; any other process takes at most
# TOKEN_USER_CACHE_SECONDS to see it.
_verified: dict[str, tuple[float, str, tuple[Any, ...]]] = {}
TOKENS_REMEMBERED = 1024


def token_user(token: str) -> User:
    """The active user a valid token names; AuthenticationFailed for anything else."""
    now = time.monotonic()
    known = _verified.get(token)
    # A request that reads the primary (one that may write) takes only what was read there.
    if known is not None and known[0] > now and known[1] in (DEFAULT_DB_ALIAS, _user_alias()):
        _, alias, values = known
        remembered = User.from_db(alias, SIGNED_IN_USER_FIELDS, values)
        setattr(remembered, _REMEMBERED, True)
        return remembered
    subject, fingerprint, expiry = _token_claims(token)
    user = User.objects.active(subject)
    if user is None or not constant_time_compare(fingerprint, _password_fingerprint(user)):
        raise AuthenticationFailed("Invalid token.")
    seconds = settings.TOKEN_USER_CACHE_SECONDS
    if seconds > 0:
        if len(_verified) >= TOKENS_REMEMBERED:
            _verified.clear()
        values = tuple(getattr(user, name) for name in SIGNED_IN_USER_FIELDS)
        # Never past the token's own expiry.
        until = now + min(seconds, expiry - time.time())
        _verified[token] = (until, user._state.db or DEFAULT_DB_ALIAS, values)
    return user


_REMEMBERED = "_conduit_token_remembered"


def is_remembered(user: User) -> bool:
    """Whether `user` is this process's copy of a token's user rather than a fresh read: an
    answer that shows the user's own columns reads them again, since another process may have
    changed them within TOKEN_USER_CACHE_SECONDS."""
    return getattr(user, _REMEMBERED, False)


def _user_alias() -> str:
    return router.db_for_read(User)


def forget_verified_tokens() -> None:
    _verified.clear()


@receiver(post_save, sender=User, dispatch_uid="conduit.authentication.user_saved")
@receiver(post_delete, sender=User, dispatch_uid="conduit.authentication.user_deleted")
def _user_changed(**kwargs: Any) -> None:
    forget_verified_tokens()


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
