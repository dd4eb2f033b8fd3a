"""Middleware: request ids and access logs, health probes, read-replica routing, and the
request-body guard."""

import io
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.http import HttpRequest, HttpResponse
from rest_framework import status

from api_project import db_routers
from resources import json_logging
from resources.exceptions import error_response
from resources.renderers import JSONRenderer
from resources.throttling import client_ip_of

logger = logging.getLogger(__name__)


class BodySizeLimitMiddleware:
    """Refuses a body larger than MAX_REQUEST_BODY_BYTES with 413: from its Content-Length,
    before reading a byte of it, or, for a body without one (chunked), once the limit is passed
    while reading it. (DRF parsers read the stream directly, past Django's own
    DATA_UPLOAD_MAX_MEMORY_SIZE check.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = settings.MAX_REQUEST_BODY_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH")
        if not length and request.META.get("HTTP_TRANSFER_ENCODING"):
            return self._read_unsized_body(request) or self.get_response(request)
        length = length or "0"
        if not length.isdigit():
            return error_response(status.HTTP_400_BAD_REQUEST, "Invalid Content-Length header.")
        if int(length) > self.limit:
            return self._too_large()
        return self.get_response(request)

    def _too_large(self) -> HttpResponse:
        return error_response(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            f"Request body is larger than the limit of {self.limit} bytes.",
        )

    def _read_unsized_body(self, request: HttpRequest) -> HttpResponse | None:
        """Reads a body sent without Content-Length (chunked), up to the limit, and hands it on
        as a body of known length; Django would otherwise take it as empty. Only a server that
        ends the input stream at the end of the body (`wsgi.input_terminated`, as gunicorn does)
        can be read this way: elsewhere the answer is 411."""
        if not request.META.get("wsgi.input_terminated"):
            return error_response(
                status.HTTP_411_LENGTH_REQUIRED,
                "A request body needs a Content-Length header on this server.",
            )
        stream = request.META["wsgi.input"]
        body = bytearray()
        try:
            while len(body) <= self.limit:
                chunk = stream.read(min(64 * 1024, self.limit + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
        except Exception:
            # The server's parse errors (a bad chunk size, a missing terminator, a client gone
            # mid-body) share no base class but Exception.
            logger.info("Unreadable chunked request body", exc_info=True)
            return error_response(status.HTTP_400_BAD_REQUEST, "Malformed chunked request body.")
        if len(body) > self.limit:
            return self._too_large()
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = io.BytesIO(body)
        return None


REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
# Probes and scrapes are answered without an access-log line each.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
access_log = logging.getLogger("conduit.request")


def request_id_for(meta: Mapping[str, Any]) -> str:
    """The id of a request: the client's X-Request-ID when it sends a sane one, else a new one."""
    incoming = meta.get("HTTP_X_REQUEST_ID", "")
    return incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def log_answer(
    meta: Mapping[str, Any],
    path: str,
    status_code: int,
    start: float,
    request_id: str,
    user_id: Any = None,
) -> None:
    """The access-log line of one answered request (none for probes and scrapes)."""
    if path in _QUIET_PATHS:
        return
    method = meta.get("REQUEST_METHOD", "")
    access_log.info(
        "%s %s %s",
        method,
        path,
        status_code,
        extra={
            "request_line": True,
            "method": method,
            "path": path,
            "status": status_code,
            "duration_ms": round((time.perf_counter() - start) * 1000, 2),
            "request_id": request_id,
            "client_ip": client_ip_of(meta),
            "user_id": user_id,
        },
    )


class RequestLogMiddleware:
    """Gives every request an id (the client's X-Request-ID when it sends a sane one) and
    writes one access-log line per request when it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        request.id = request_id_for(request.META)  # type: ignore[attr-defined]
        token = json_logging.request_id.set(request.id)  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            json_logging.request_id.reset(token)
        response[REQUEST_ID_HEADER] = request.id  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        log_answer(
            request.META,
            request.path,
            response.status_code,
            start,
            request.id,  # type: ignore[attr-defined]
            user.pk if user is not None and user.is_authenticated else None,
        )
        return response


class HealthProbeMiddleware:
    """/healthz (the process answers; no I/O), /readyz (ready to serve: see `readiness`) and,
    when METRICS_ENABLED, /metrics. Answered before host validation, since probes and scrapers
    address the app by IP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return _json(status.HTTP_200_OK, {"status": "ok"})
        if request.path == "/readyz":
            return readiness()
        if request.path == "/metrics" and settings.METRICS_ENABLED:
            from resources.metrics import metrics_response

            return metrics_response()
        return self.get_response(request)


def _json(status_code: int, body: dict) -> HttpResponse:
    return HttpResponse(
        JSONRenderer().render(body), status=status_code, content_type="application/json"
    )


def _check_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


class NotMigrated(Exception):
    pass


# Once a process has seen every migration applied it does not look again: migrations only ever
# get applied, and loading them from disk on every probe would cost more than the probe.
_migrated = False


def _check_migrations() -> None:
    global _migrated
    if _migrated:
        return
    # Every migration the code has and the database has not recorded, wherever it sits in the
    # graph: a plan towards the leaves would miss one below a leaf that is recorded.
    loader = MigrationLoader(connections[DEFAULT_DB_ALIAS])
    unapplied = len(loader.graph.nodes.keys() - loader.applied_migrations.keys())
    if unapplied:
        plural = "s" if unapplied > 1 else ""
        raise NotMigrated(f"The database lacks {unapplied} migration{plural}: run migrate.")
    _migrated = True


def _check_cache() -> None:
    # The cache fails open (errors become misses), so a round trip is the only honest test. The
    # key is this process's own: servers sharing one Redis must not read each other's values.
    key, token = f"readyz:{socket.gethostname()}:{os.getpid()}", uuid.uuid4().hex
    cache.set(key, token, timeout=10)
    if cache.get(key) != token:
        raise ConnectionError("the cache did not keep a value")


def _draining() -> bool:
    return bool(settings.DRAIN_FILE) and os.path.exists(settings.DRAIN_FILE)


def readiness() -> HttpResponse:
    """200 when this server can answer requests; otherwise 503 naming why: it is draining
    before a stop, the database is unreachable or not migrated, or the cache is unreachable.
    Read replicas are not checked: reads go to the primary while one is down."""
    if _draining():
        return _not_ready({"draining": ["The server is shutting down."]})
    checks: dict[str, Callable[[], None]] = {
        "database": _check_database,
        "migrations": _check_migrations,
        "cache": _check_cache,
    }
    failures: dict[str, list[str]] = {}
    for name, check in checks.items():
        if name == "migrations" and "database" in failures:
            continue
        try:
            check()
        except NotMigrated as exc:
            logger.warning("Not ready: %s", exc)
            failures[name] = [str(exc)]
        except Exception as exc:  # noqa: BLE001 (any failure means: not ready)
            # The details (hosts, ports) go to the log, not to whoever asks.
            logger.warning("Not ready: %s: %s", name, exc)
            failures[name] = [f"The {name} is unreachable ({exc.__class__.__name__})."]
    if failures:
        return _not_ready(failures)
    return _json(status.HTTP_200_OK, {"status": "ready", "checks": dict.fromkeys(checks, "ok")})


def _not_ready(reasons: dict[str, list[str]]) -> HttpResponse:
    response = _json(status.HTTP_503_SERVICE_UNAVAILABLE, {"errors": reasons})
    # Logged above as a warning (or expected, while draining), not as a server error on every
    # probe by django.request.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


class ReadReplicaMiddleware:
    """Installed with read replicas (api_project/db_routers.py). Gives each request its
    routing; answers a read again from the primary when its replica failed under it (a replica
    going away fails no request); after a write, keeps the primary's position for the writer's
    next reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        authorization = request.META.get("HTTP_AUTHORIZATION", "")
        method, path = request.method or "", request.path
        with db_routers.request_routing(method, path, authorization) as routing:
            response = self.get_response(request)
            if routing.failed_replica is not None:
                routing.use_primary()
                response = self.get_response(request)
            db_routers.remember_writes(routing, getattr(request, "user", None))
        return response
