"""Anonymous reads answered from the shared response cache before Django builds a request.

A hit is the same fixed work whatever its size: the lookup, the headers, the request id and the
access-log line. Through Django it also pays the request object, the handler's signals and the
middleware above the cache, which cost as much as the rest together; this WSGI application, in
front of Django's, answers a hit with the same status, headers and body the middleware would
(resources/conditional.py builds both from one function), writes the same access-log line and
X-Request-ID, and hands everything else to Django: misses, signed-in requests, writes, and
every path the cache does not cover. A miss hands its lookup on, so it still costs one round
trip to the cache.

With METRICS_ENABLED it stands aside: every request then goes through the metrics middleware.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import get_path_info

from resources import conditional, json_logging, response_cache
from resources.middleware import REQUEST_ID_HEADER, log_answer, request_id_for

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_STATUS_LINES = {code: f"{code} {HTTPStatus(code).phrase}" for code in (200, 304)}


class CachedReadsApplication:
    def __init__(self, application: WSGIApplication) -> None:
        self.application = application

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if (
            settings.METRICS_ENABLED
            or not response_cache.enabled()
            or not response_cache.covers(environ)
        ):
            return self.application(environ, start_response)
        start = time.perf_counter()
        request_id = request_id_for(environ)
        token = json_logging.request_id.set(request_id)
        try:
            found = response_cache.lookup(environ)
        finally:
            json_logging.request_id.reset(token)
        if found is None or found[2] is None:
            environ[response_cache.LOOKUP_ENVIRON_KEY] = found
            return self.application(environ, start_response)
        status_code, headers, body = conditional.cached_answer(environ, found[2])
        headers.append((REQUEST_ID_HEADER, request_id))
        start_response(_STATUS_LINES[status_code], headers)
        log_answer(environ, get_path_info(environ), status_code, start, request_id)
        return [body]
