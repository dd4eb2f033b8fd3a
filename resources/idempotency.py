"""Idempotent retries: a POST with an `Idempotency-Key` header is answered once, and its first
answer replayed to every retry, so a client that timed out can send it again without writing
twice.

The first answer (status, body, and the headers that describe it: Content-Type, Location, ETag)
is kept for IDEMPOTENCY_KEY_SECONDS in the shared cache, under the key and whom it belongs to:
the signed-in user, or for anonymous registration and login the client's address (the one rate
limits trust, resources/throttling.py). 4xx answers are kept too, since the same request would
get them again; 5xx answers are not, so a retry runs the request again.

Claiming a key is atomic: a record that says "running" is written only if the key is free (SET
NX in Redis, `cache.add` elsewhere), and replaced by the answer, or deleted after a 5xx, only by
the request that wrote it. A retry that arrives while the first request runs gets 409 with
Retry-After; one with a different request under the same key gets 422. The record of a request
that never finishes (its worker killed) expires after IDEMPOTENCY_LOCK_SECONDS. When the cache
cannot be reached, a request with a key gets 503 rather than running without the guarantee.

Only answers from the view itself are kept: a request refused before it (401, 403, 429) keeps
nothing, so its retry is judged afresh.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from rest_framework import exceptions, status
from rest_framework.request import Request

from resources.throttling import client_ip

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_META_NAME = "HTTP_IDEMPOTENCY_KEY"
# 1 to 255 printable ASCII characters (space to tilde).
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}\Z")
# The headers that describe an answer; the others (request id, rate limits, CORS, security
# headers) belong to each request and are set again on a replay.
KEPT_HEADERS = ("Content-Type", "Location", "ETag")
# Seconds a client should wait before retrying a request whose first attempt still runs.
IN_FLIGHT_RETRY_AFTER = 1
STORE_RETRY_AFTER = 5


class KeyInvalid(exceptions.ValidationError):
    def __init__(self, message: str) -> None:
        super().__init__({IDEMPOTENCY_HEADER: [message]})


class KeyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "A request with this Idempotency-Key is still being processed; retry after the number "
        "of seconds in Retry-After."
    )
    default_code = "idempotency_key_in_flight"
    # DRF's handler turns `wait` into Retry-After.
    wait = IN_FLIGHT_RETRY_AFTER


class KeyStoreUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "Idempotency keys cannot be checked right now, so the request was not processed; "
        "retry shortly."
    )
    default_code = "idempotency_store_unavailable"
    wait = STORE_RETRY_AFTER


class Replay(Exception):
    """Raised where the view would run, to answer with the kept first answer instead."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


class StoreError(Exception):
    pass


class KeyStore(Protocol):
    def claim(self, key: str, record: bytes, timeout: int) -> bytes | None:
        """Writes `record` under `key` unless something is there; answers what is there, or
        None when this call wrote it."""

    def replace(self, key: str, mine: bytes, record: bytes, timeout: int) -> None:
        """Replaces `mine` with `record`, unless `key` no longer holds `mine`."""

    def release(self, key: str, mine: bytes) -> None:
        """Deletes `key`, if it still holds `mine`."""


# Compare-and-set and compare-and-delete, each one atomic step in Redis.
_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisKeyStore:
    """Keys in the cache's Redis, under the cache's key prefix, written with the Redis client
    itself: the cache's own calls swallow connection errors (it fails open), and here a lost
    connection must be an error."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.client = backend.client.get_client(write=True)

    def claim(self, key: str, record: bytes, timeout: int) -> bytes | None:
        import redis

        name = self.backend.make_key(key)
        try:
            for _ in range(2):
                if self.client.set(name, record, nx=True, ex=timeout):
                    return None
                existing = self.client.get(name)
                if existing is not None:
                    return existing
                # It expired between the two calls: claim it again.
        except redis.RedisError as exc:
            raise StoreError(exc) from exc
        raise StoreError("the key kept changing")

    def replace(self, key: str, mine: bytes, record: bytes, timeout: int) -> None:
        import redis

        try:
            self.client.eval(_REPLACE, 1, self.backend.make_key(key), mine, record, timeout)
        except redis.RedisError as exc:
            raise StoreError(exc) from exc

    def release(self, key: str, mine: bytes) -> None:
        import redis

        try:
            self.client.eval(_RELEASE, 1, self.backend.make_key(key), mine)
        except redis.RedisError as exc:
            raise StoreError(exc) from exc


class CacheKeyStore:
    """Keys in any other Django cache (the in-process one in development and tests): `add` is
    atomic there; replacing and releasing check first, which one process can afford."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def claim(self, key: str, record: bytes, timeout: int) -> bytes | None:
        for _ in range(2):
            if self.backend.add(key, record, timeout=timeout):
                return None
            existing = self.backend.get(key)
            if existing is not None:
                return existing
        raise StoreError("the key kept changing")

    def replace(self, key: str, mine: bytes, record: bytes, timeout: int) -> None:
        if self.backend.get(key) == mine:
            self.backend.set(key, record, timeout=timeout)

    def release(self, key: str, mine: bytes) -> None:
        if self.backend.get(key) == mine:
            self.backend.delete(key)


def key_store() -> KeyStore:
    from django_redis.cache import RedisCache

    backend = caches["default"]
    return RedisKeyStore(backend) if isinstance(backend, RedisCache) else CacheKeyStore(backend)


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotentRequest:
    """A POST that claimed its key: it finishes by keeping its answer, or releasing the key."""

    def __init__(self, store: KeyStore, key: str, fingerprint: str) -> None:
        self.store = store
        self.key = key
        self.fingerprint = fingerprint
        self.running = json.dumps(
            {"state": "running", "fingerprint": fingerprint, "token": secrets.token_hex(16)}
        ).encode()

    @classmethod
    def begin(cls, request: Request, body: bytes) -> IdempotentRequest | None:
        """None without a key. Otherwise claims the key, or raises what to answer instead:
        the kept answer (Replay), 409 while it runs, 422 for another request under it."""
        key = request.META.get(_META_NAME)
        if key is None:
            return None
        if not _VALID_KEY.match(key):
            raise KeyInvalid("Must be 1 to 255 printable ASCII characters.")
        user = request.user
        owner = f"user:{user.pk}" if user.is_authenticated else f"ip:{client_ip(request)}"
        name = "idempotency:" + _digest(owner.encode(), key.encode())
        fingerprint = _digest(str(request.method).encode(), request.get_full_path().encode(), body)
        claim = cls(key_store(), name, fingerprint)
        try:
            existing = claim.store.claim(name, claim.running, settings.IDEMPOTENCY_LOCK_SECONDS)
        except StoreError as exc:
            logger.warning("Idempotency keys unavailable: %s", exc)
            raise KeyStoreUnavailable() from exc
        if existing is None:
            return claim
        record = json.loads(existing)
        if record["fingerprint"] != fingerprint:
            raise KeyInvalid(
                "This key was already used for a different request (another path or body)."
            )
        if record["state"] == "running":
            raise KeyInFlight()
        raise Replay(replayed_response(record))

    def finish(self, response: HttpResponse) -> None:
        """Keeps the answer (rendered now), or releases the key after a server error."""
        try:
            if response.status_code >= 500:
                self.store.release(self.key, self.running)
                return
            if hasattr(response, "render"):
                response.render()
            record = {
                "state": "done",
                "fingerprint": self.fingerprint,
                "status": response.status_code,
                "headers": {name: response[name] for name in KEPT_HEADERS if name in response},
                "body": base64.b64encode(response.content).decode(),
            }
            self.store.replace(
                self.key,
                self.running,
                json.dumps(record).encode(),
                settings.IDEMPOTENCY_KEY_SECONDS,
            )
        except StoreError as exc:
            # The request has run; the client gets its answer, and a retry within
            # IDEMPOTENCY_LOCK_SECONDS a 409. Nothing better is possible without the store.
            logger.warning("Idempotency key not kept: %s", exc)

    def abandon(self) -> None:
        """The view raised something no handler answers (a crash): free the key for a retry."""
        try:
            self.store.release(self.key, self.running)
        except StoreError as exc:
            logger.warning("Idempotency key not released: %s", exc)


def replayed_response(record: dict[str, Any]) -> HttpResponse:
    response = HttpResponse(base64.b64decode(record["body"]), status=record["status"])
    for name, value in record["headers"].items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


# A view mixin: every POST takes an Idempotency-Key (see the module's docstring). The check runs
# once the request is authenticated, allowed and counted against rate limits. (A comment, not a
# docstring: drf-spectacular would show a docstring as the description of every operation.)
class IdempotentPostMixin:
    idempotent: IdempotentRequest | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.idempotent = None
        keyed = request.method == "POST" and _META_NAME in request.META
        # The raw body, read before DRF parses it (reading it keeps it for the parser).
        body = request._request.body if keyed else b""
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if keyed:
            self.idempotent = IdempotentRequest.begin(request, body)

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, Replay):
            return exc.response
        try:
            return super().handle_exception(exc)  # type: ignore[misc]
        except BaseException:
            if self.idempotent is not None:
                self.idempotent.abandon()
                self.idempotent = None
            raise

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if self.idempotent is not None:
            self.idempotent.finish(response)
            self.idempotent = None
        return response
