"""Rate limits: fixed windows counted atomically in the shared cache.

DRF's own throttles keep a list of timestamps per client and write it back, so concurrent requests
overwrite each other's counts. These count with `cache.add` and `cache.incr`, which are atomic in
Redis (and in the in-process cache), so a limit holds however many requests arrive at once.
Limits come from settings.RATE_LIMITS, a scope's rate looking like "10/min"; None turns it off.

Every answer to a counted request says where its client stands, in the `RateLimit-Policy` and
`RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-09 (one list member per limit the
request counted against, named by its scope), so a client can slow down before it gets a 429.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/min" -> (10, 60)."""
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0]]


def client_ip(request: Request | HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXIES proxies in front, the address
    the outermost trusted proxy saw (never a value the client could simply make up)."""
    return client_ip_of(request.META)


def client_ip_of(meta: Mapping[str, Any]) -> str:
    """client_ip, from a request's WSGI environ."""
    proxies = settings.TRUSTED_PROXIES
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return meta.get("REMOTE_ADDR", "")


@dataclass(frozen=True)
class RateLimitState:
    """Where one client stands against one limit after this request was counted."""

    scope: str
    quota: int
    window: int
    remaining: int
    reset: int

    def policy_item(self) -> str:
        return f'"{self.scope}";q={self.quota};w={self.window}'

    def limit_item(self) -> str:
        return f'"{self.scope}";r={self.remaining};t={self.reset}'


def counted_limits(request: Request | HttpRequest) -> list[RateLimitState]:
    """The limits this request was counted against (kept on Django's request, which DRF's
    request wraps, so that every layer sees the same list)."""
    http_request: Any = getattr(request, "_request", request)
    if not hasattr(http_request, "rate_limits"):
        http_request.rate_limits = []
    return http_request.rate_limits


def add_rate_limit_headers(request: Request | HttpRequest, response: Any) -> None:
    """`RateLimit-Policy` and `RateLimit` on an answer to a request that was counted."""
    limits = counted_limits(request)
    if limits:
        response["RateLimit-Policy"] = ", ".join(limit.policy_item() for limit in limits)
        response["RateLimit"] = ", ".join(limit.limit_item() for limit in limits)


# A view mixin: every answer (a 429 too) says where the client stands. (A comment, not a
# docstring, as for IdempotentPostMixin.)
class RateLimitHeadersMixin:
    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        add_rate_limit_headers(request, response)
        return response


class CacheCounterThrottle(BaseThrottle):
    scope = ""
    methods: frozenset[str] | None = None

    def applies_to(self, method: str) -> bool:
        return self.methods is None or method in self.methods

    def identities(self, request: Request, view: Any) -> list[str]:
        raise NotImplementedError

    def get_scope(self, view: Any) -> str:
        return self.scope

    def allow_request(self, request: Request, view: Any) -> bool:
        self.retry_after: int | None = None
        scope = self.get_scope(view)
        rate = settings.RATE_LIMITS.get(scope)
        if not rate or not self.applies_to(request.method or ""):
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        reset = max(1, math.ceil((window + 1) * period - now))
        for identity in self.identities(request, view):
            digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
            count = self._count(f"throttle:{scope}:{digest}:{window}", period)
            if count is None:
                continue
            counted_limits(request).append(
                RateLimitState(scope, limit, period, max(0, limit - count), reset)
            )
            if count > limit:
                self.retry_after = reset
                return False
        return True

    @staticmethod
    def _count(key: str, period: int) -> int | None:
        """Increments the window's counter and answers it; None when the cache is unreachable
        (the limit then fails open, and the cache logs why)."""
        for _ in range(2):
            cache.add(key, 0, timeout=period + 1)
            try:
                return cache.incr(key)
            except ValueError:
                # The counter expired between add and incr: start it again.
                continue
        return None

    def wait(self) -> float | None:
        return self.retry_after


class UserWriteThrottle(CacheCounterThrottle):
    """Writes per signed-in user, in the view's `throttle_scope` (default "write")."""

    methods = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def get_scope(self, view: Any) -> str:
        return getattr(view, "throttle_scope", "write")

    def identities(self, request: Request, view: Any) -> list[str]:
        user = request.user
        return [f"user:{user.pk}"] if user.is_authenticated else [f"ip:{client_ip(request)}"]


def _email_in_body(request: Request) -> str | None:
    user = request.data.get("user") if isinstance(request.data, dict) else None
    email = user.get("email") if isinstance(user, dict) else None
    return email.strip().lower() if isinstance(email, str) else None


class _AccountThrottle(CacheCounterThrottle):
    """Attempts per account, named by the email in the request body."""

    methods = frozenset({"POST"})

    def identities(self, request: Request, view: Any) -> list[str]:
        email = _email_in_body(request)
        return [f"account:{email}"] if email else []


class _IPThrottle(CacheCounterThrottle):
    methods = frozenset({"POST"})

    def identities(self, request: Request, view: Any) -> list[str]:
        return [f"ip:{client_ip(request)}"]


class LoginIPThrottle(_IPThrottle):
    scope = "login_ip"


class LoginAccountThrottle(_AccountThrottle):
    scope = "login_account"


class RegistrationIPThrottle(_IPThrottle):
    scope = "registration_ip"


class RegistrationAccountThrottle(_AccountThrottle):
    scope = "registration_account"
