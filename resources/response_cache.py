"""The shared response cache for anonymous reads, kept fresh by one content version.

Every anonymous answer it may hold (article lists and their filters, single articles, comments,
tags, profiles) is stored with the content version it was read under: a counter in the cache
that every request which may write increments (INCR) once it has written and before its answer
leaves. A read takes the version before it touches the database and stores what it read with
that version. An entry is answered only while its version is the current one: if a write lands
between a read's version and its store, the entry carries the old version, which is never
current again, so a read that starts after a write was acknowledged never gets an answer older
than that write.

The cache holds no data of record. When it is unreachable, reads are answered uncached (the
Django cache fails open), never with an error.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django_redis.cache import RedisCache
from redis.connection import Connection, ConnectionPool
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

VERSION_KEY = "response-cache:version"
# Where a WSGI application in front of Django's (resources/cached_reads.py) hands its lookup on
# to the middleware, so that a miss costs one round trip.
LOOKUP_ENVIRON_KEY = "conduit.response_cache.lookup"
ENTRY_KEY = "response-cache:entry:{digest}"

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
    """A stored answer: the content version it was read under, its entity tag, its headers as
    the middleware inside the cache's gave them, its body."""

    version: int
    etag: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


def enabled() -> bool:
    return bool(settings.RESPONSE_CACHE)


def covers(meta: Mapping[str, Any]) -> bool:
    """Whether a request's answer may come from (and go to) the shared cache, from its WSGI
    environ: an anonymous GET or HEAD of a covered path, without a body. A request with any
    Authorization header is left alone, including a malformed one, whose answer is a 401; one
    that announces a body is left to the body-size guard, whose answer may be a 413; one under
    a script prefix is not the API's own path."""
    return (
        meta.get("REQUEST_METHOD") in ("GET", "HEAD")
        and "HTTP_AUTHORIZATION" not in meta
        and meta.get("CONTENT_LENGTH", "") in ("", "0")
        and "HTTP_TRANSFER_ENCODING" not in meta
        and not meta.get("SCRIPT_NAME")
        and CACHED_PATHS.match(meta.get("PATH_INFO", "")) is not None
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


def request_digest(meta: Mapping[str, Any]) -> str:
    # Everything the answer depends on besides the data, as the request sent it: the path and
    # the query string, the Accept header (content negotiation), the Origin (CORS headers), the
    # host and the scheme (host validation, HSTS, the TLS redirect). GET and HEAD share an entry.
    parts = [
        meta.get("PATH_INFO", ""),
        meta.get("QUERY_STRING", ""),
        meta.get("HTTP_ACCEPT", ""),
        meta.get("HTTP_ORIGIN", ""),
        meta.get("HTTP_HOST") or f"{meta.get('SERVER_NAME', '')}:{meta.get('SERVER_PORT', '')}",
        meta.get("wsgi.url_scheme", ""),
    ]
    if settings.USE_X_FORWARDED_HOST:
        parts.append(meta.get("HTTP_X_FORWARDED_HOST", ""))
    if settings.SECURE_PROXY_SSL_HEADER:
        parts.append(meta.get(settings.SECURE_PROXY_SSL_HEADER[0], ""))
    identity = "\n".join(parts).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(identity, digest_size=16).hexdigest()


def entry_key(digest: str) -> str:
    return ENTRY_KEY.format(digest=digest)


def _current(version: Any, value: Any) -> tuple[int, Entry | None] | None:
    """The version and the entry read together, the entry only if stored under that version;
    a missing version is started (see current_version)."""
    if not isinstance(version, int):
        version = current_version()
        if version is None:
            return None
    if isinstance(value, Entry) and value.version == version:
        return version, value
    return version, None


# One connection per process for the lookups, held rather than taken from the pool and given
# back on every request, and sent its one command directly: the client's bookkeeping around a
# command (the pool, retries, response callbacks) costs more than the round trip itself. On an
# error the connection drops its socket and connects again on its next command. It is held for
# the current cache backend of this process: (pid, pool, connection).
_held: tuple[int, ConnectionPool, Connection] | None = None


def _lookup_connection(backend: RedisCache) -> Connection:
    global _held
    pool = backend.client.get_client(write=False).connection_pool
    pid = os.getpid()
    if _held is None or _held[0] != pid or _held[1] is not pool:
        if _held is not None and _held[0] == pid:
            # Another backend's (settings changed): back to its own pool. A forked child leaves
            # its parent's connection alone.
            _held[1].release(_held[2])
        _held = None
        _held = (pid, pool, pool.get_connection())
    return _held[2]


def _redis_lookup(backend: RedisCache, digest: str) -> tuple[int, Entry | None] | None:
    # The version and the entry in one round trip: MGET reads both atomically.
    keys = (backend.make_key(VERSION_KEY), backend.make_key(entry_key(digest)))
    try:
        connection = _lookup_connection(backend)
        connection.send_command("MGET", *keys)
        version, value = connection.read_response()
    except RedisError:
        logger.warning("The response cache is unreachable", exc_info=True)
        return None
    decode = backend.client.decode
    return _current(
        None if version is None else decode(version), None if value is None else decode(value)
    )


def lookup(meta: Mapping[str, Any]) -> tuple[int, str, Entry | None] | None:
    """The content version, the request's digest and its entry if it was stored under that
    version (None when there is none); None altogether when the cache is unreachable or owes a
    bump. `meta` is the request's WSGI environ."""
    digest = request_digest(meta)
    if _bump_owed and not bump_version():
        return None
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        found = _redis_lookup(backend, digest)
    else:
        values = cache.get_many([VERSION_KEY, entry_key(digest)])
        found = _current(values.get(VERSION_KEY), values.get(entry_key(digest)))
    return None if found is None else (found[0], digest, found[1])


def entry_set(digest: str, entry: Entry) -> None:
    cache.set(entry_key(digest), entry, timeout=settings.RESPONSE_CACHE_SECONDS)
