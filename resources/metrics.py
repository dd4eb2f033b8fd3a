"""Prometheus metrics: requests by view, method and status, latency, SQL statements per request
and by database (primary or replica). Installed only when METRICS_ENABLED is set; under gunicorn
the workers share their counts through PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py prepares
it)."""

from __future__ import annotations

import os
import time
from collections import Counter as Tally
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as PROCESS_REGISTRY

REQUESTS = Counter(
    "conduit_http_requests_total", "HTTP requests answered.", ["view", "method", "status"]
)
LATENCY = Histogram(
    "conduit_http_request_duration_seconds",
    "Time to answer a request.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
QUERIES = Histogram(
    "conduit_http_request_db_queries",
    "SQL statements run to answer a request.",
    ["view", "method"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 50),
)
# By the alias in DATABASES: "default" is the primary, "replica", "replica_2", ... the replicas.
STATEMENTS = Counter(
    "conduit_db_statements_total", "SQL statements run, by database.", ["database"]
)


def view_label(request: HttpRequest) -> str:
    """The route's name (e.g. "article-detail"): few values, whatever the URL held."""
    match = request.resolver_match
    if match is None:
        return "none"
    return match.view_name or match.route or "unnamed"


def metrics_response() -> HttpResponse:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = PROCESS_REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        statements: Tally[str] = Tally()

        def count(
            alias: str,
            execute: Callable[..., Any],
            sql: str,
            params: Any,
            many: bool,
            context: Any,
        ) -> Any:
            statements[alias] += 1
            return execute(sql, params, many, context)

        start = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(partial(count, alias)))
            response = self.get_response(request)
        view, method = view_label(request), request.method or ""
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        LATENCY.labels(view, method).observe(time.perf_counter() - start)
        QUERIES.labels(view, method).observe(statements.total())
        for alias, number in statements.items():
            STATEMENTS.labels(alias).inc(number)
        return response
