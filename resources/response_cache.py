"""The shared response cache for anonymous reads, kept fresh by one content version.

Every anonymous answer it may hold (article lists and their filters, single articles, comments,
tags, profiles) is stored under a key that starts with the content version: a counter in the
cache that every request which may write increments (INCR) once it has written and before its
answer leaves. A read takes the version before it touches the database and stores what it read
under that version. If a write lands in between, the entry is stored under the old version,
which no read asks for again: a read that starts after a write was acknowledged never gets an
answer older than that write.

The cache holds no data of record. When it is unreachable, reads are answered uncached (the
Django cache fails open), never with an error.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.http import HttpRequest
from django_redis.cache import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

VERSION_KEY = "response-cache:version"
ENTRY_KEY = "response-cache:{version}:{digest}"

# The anonymous reads the cache covers. Not the feed (it needs a reader), not /user.
CACHED_PATHS = re.compile(
    r"^/api/(?:"
    r"articles"
    r"|articles/(?!feed$)[^/]+"
    r"|articles/[^/]+/comments"
    r"|tags"
    r"|profiles/[^/]+"
    r")$"
)

# Set when this process failed to bump the version (the cache was unreachable after a write):
# it serves nothing from the cache until a bump succeeds.
_bump_owed = False


@dataclass(frozen=True)
class Entry:
    """A stored answer: its entity tag, its headers as the view set them, its body."""

    etag: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def enabled() -> bool:
    return bool(settings.RESPONSE_CACHE)


def covers(request: HttpRequest) -> bool:
    """Whether this request's answer may come from (and go to) the shared cache: an anonymous
    GET or HEAD of a covered path. A request with any Authorization header is left alone,
    including a malformed one, whose answer is a 401."""
    return (
        request.method in ("GET", "HEAD")
        and "HTTP_AUTHORIZATION" not in request.META
        and CACHED_PATHS.match(request.path) is not None
    )


def _initial_version() -> int:
    # A missing version (a new cache, or one that lost the key) starts above any earlier one:
    # entries stored under an old counter can never be read again.
    return time.time_ns()


def current_version() -> int | None:
    """The content version, or None when the cache is unreachable (or owes a bump)."""
    if _bump_owed and not bump_version():
        return None
    version = cache.get(VERSION_KEY)
    if version is None:
        start = _initial_version()
        if cache.add(VERSION_KEY, start, timeout=None):
            return start
        version = cache.get(VERSION_KEY)
    return version if isinstance(version, int) else None


def bump_version() -> bool:
    """Makes every stored entry stale, after a write; False when the cache is unreachable."""
    global _bump_owed
    try:
        bumped = cache.incr(VERSION_KEY)
    except ValueError:
        # No version yet: a fresh one is above every earlier one anyway.
        bumped = cache.add(VERSION_KEY, _initial_version(), timeout=None) or cache.incr(VERSION_KEY)
    if not bumped:
        # The cache ignored an error. Entries under the old version may outlive this write if
        # the cache comes back with them; this process reads nothing from it until it can bump,
        # and entries expire after RESPONSE_CACHE_SECONDS whatever happens.
        logger.warning("The response cache's version could not be bumped after a write")
        _bump_owed = True
        return False
    _bump_owed = False
    return True


def request_digest(request: HttpRequest) -> str:
    # The path with its query string as sent, and the Accept header (which decides the answer
    # in content negotiation); GET and HEAD share an entry.
    identity = f"{request.get_full_path()}\n{request.META.get('HTTP_ACCEPT', '')}"
    return hashlib.blake2b(identity.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def entry_key(version: int, digest: str) -> str:
    return ENTRY_KEY.format(version=version, digest=digest)


def _entry(value: Any) -> Entry | None:
    return value if isinstance(value, Entry) else None


# On Redis, the version and the entry stored under it are read in one round trip, atomically.
_LOOKUP_SCRIPT = """
local version = redis.call('GET', KEYS[1])
if not version then return false end
return {version, redis.call('GET', ARGV[1] .. version .. ARGV[2])}
"""
_scripts: dict[int, Any] = {}


def _redis_lookup(backend: RedisCache, digest: str) -> tuple[int, Entry | None] | None:
    client = backend.client
    redis = client.get_client(write=False)
    script = _scripts.get(id(redis))
    if script is None:
        script = _scripts[id(redis)] = redis.register_script(_LOOKUP_SCRIPT)
    # The entry's full key, as the cache makes it, cut around the version.
    before, _, after = str(backend.make_key(entry_key(0, digest))).rpartition(f":0:{digest}")
    version_key = backend.make_key(VERSION_KEY)
    try:
        found = script(keys=[version_key], args=[f"{before}:", f":{digest}{after}"])
    except RedisError:
        logger.warning("The response cache is unreachable", exc_info=True)
        return None
    if not found:
        version = current_version()
        return None if version is None else (version, None)
    version, value = found
    return int(version), None if value is None else _entry(client.decode(value))


def lookup(request: HttpRequest) -> tuple[int, str, Entry | None] | None:
    """The content version, the request's digest and its entry under that version (None when
    there is none); None altogether when the cache is unreachable or owes a bump."""
    digest = request_digest(request)
    if _bump_owed and not bump_version():
        return None
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        found = _redis_lookup(backend, digest)
        return None if found is None else (found[0], digest, found[1])
    version = current_version()
    if version is None:
        return None
    return version, digest, _entry(cache.get(entry_key(version, digest)))


def entry_set(key: str, entry: Entry) -> None:
    cache.set(key, entry, timeout=settings.RESPONSE_CACHE_SECONDS)
