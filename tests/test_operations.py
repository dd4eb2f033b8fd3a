"""Serving in production: probes, logs, metrics, Redis outages, several app servers, a read
replica, graceful shutdown and the deployment checklist."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection, connections
from django.test.utils import CaptureQueriesContext

from resources.authentication import forget_verified_tokens
from resources.json_logging import JSONFormatter
from resources.models import Article, Tag
from tests import recipes
from tests.clients import client_for
from tests.tools import ROOT, database_url, front, gunicorn, migrated_sqlite, runserver

pytestmark = pytest.mark.django_db


def fetch(url: str, *, method: str = "GET", body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


# --- Health -----------------------------------------------------------------------------------


def test_liveness_answers_without_io_and_for_any_host(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api.get("/healthz", HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_checks_the_database_its_migrations_and_the_cache(api):
    response = api.get("/readyz", HTTP_HOST="10.1.2.3")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "cache": "ok"},
    }


def _forget_a_migration() -> None:
    # Inside the test's transaction, which is rolled back afterwards.
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'resources' AND name = %s",
            ["0003_article_dates"],
        )


def test_readiness_names_unapplied_migrations(api, monkeypatch):
    monkeypatch.setattr("resources.middleware._migrated", False)
    _forget_a_migration()

    response = api.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "errors": {"migrations": ["The database lacks 1 migration: run migrate."]}
    }


def test_a_migrated_process_does_not_check_migrations_again(api, monkeypatch):
    monkeypatch.setattr("resources.middleware._migrated", False)
    assert api.get("/readyz").status_code == 200
    _forget_a_migration()

    assert api.get("/readyz").status_code == 200


def test_readiness_answers_503_while_the_server_drains(api, user_api, settings, tmp_path):
    settings.DRAIN_FILE = str(tmp_path / "draining")
    assert api.get("/readyz").status_code == 200
    (tmp_path / "draining").touch()

    response = api.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"errors": {"draining": ["The server is shutting down."]}}
    # Only the probe says so: requests are still answered, and the process is alive.
    assert user_api.get("/api/articles").status_code == 200
    assert api.get("/healthz").status_code == 200


def test_readiness_names_an_unreachable_database(api, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)

    response = api.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "errors": {"database": ["The database is unreachable (OperationalError)."]}
    }


def test_readiness_names_an_unreachable_cache(api, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }

    response = api.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"errors": {"cache": ["The cache is unreachable (ConnectionError)."]}}


def test_a_missing_table_is_the_same_503_json_on_every_database(api):
    # Renamed inside the test's transaction (DDL is transactional on PostgreSQL and SQLite),
    # which is rolled back afterwards.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE resources_tag RENAME TO scale_hidden_tag")

    response = api.get("/api/tags")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "errors": {"body": ["The database is unavailable; try again shortly."]}
    }


def test_with_redis_down_the_api_keeps_serving_and_logs_it(user_api, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    settings.DJANGO_REDIS_LOGGER = "conduit.cache"

    created = user_api.post(
        "/api/articles", {"article": {"title": "T", "description": "D", "body": "B"}}, format="json"
    )
    listed = user_api.get("/api/articles")

    assert (created.status_code, listed.status_code) == (201, 200)
    assert any(r.name == "conduit.cache" for r in caplog.records)


# --- Logs and request ids ---------------------------------------------------------------------


def test_one_json_access_line_per_request(user, user_api, caplog):
    caplog.set_level(logging.INFO, logger="conduit.request")

    user_api.get("/api/articles?limit=5", HTTP_X_REQUEST_ID="client-chosen-id-42")

    [record] = [r for r in caplog.records if r.name == "conduit.request"]
    line = json.loads(JSONFormatter().format(record))
    assert line.pop("duration_ms") >= 0
    assert line.pop("time").endswith("+00:00")
    assert line == {
        "level": "info",
        "logger": "conduit.request",
        "method": "GET",
        "path": "/api/articles",
        "status": 200,
        "request_id": "client-chosen-id-42",
        "client_ip": "127.0.0.1",
        "user_id": user.pk,
    }


@pytest.mark.slow
@pytest.mark.parametrize("serve", [runserver, gunicorn], ids=["dev.py serve", "gunicorn"])
def test_each_server_logs_a_request_once(tmp_path, serve):
    requests: list[tuple[str, str, dict | None, int]] = [
        ("GET", "/api/tags", None, 200),
        ("GET", "/api/articles/missing-article", None, 404),
        ("POST", "/api/users/login", {}, 422),
        ("GET", "/api/no-such-route", None, 404),
    ]
    with serve({"DATABASE_URL": migrated_sqlite(tmp_path)}) as server:
        for method, path, body, status in requests:
            assert fetch(server.url + path, method=method, body=body)[0] == status
        # The server writes its line once the response is sent.
        time.sleep(0.5)
        output = server.output()

    for method, path, _, status in requests:
        lines = [line for line in output.splitlines() if path in line]
        assert len(lines) == 1, lines
        line = json.loads(lines[0])
        assert (line["logger"], line["method"], line["path"], line["status"]) == (
            "conduit.request",
            method,
            path,
            status,
        )


def test_a_request_id_is_kept_or_made_and_echoed(api):
    kept = api.get("/api/tags", HTTP_X_REQUEST_ID="abc-123")
    made = api.get("/api/tags")
    refused = api.get("/api/tags", HTTP_X_REQUEST_ID="<script>" + "x" * 300)

    assert kept["X-Request-ID"] == "abc-123"
    assert len(made["X-Request-ID"]) == 32
    assert refused["X-Request-ID"] != "<script>" + "x" * 300
    assert len(refused["X-Request-ID"]) == 32


def test_error_lines_carry_the_request_id(api, monkeypatch, caplog):
    monkeypatch.setattr("resources.views.TagViewSet.list", lambda *a, **k: 1 / 0)
    api.raise_request_exception = False

    api.get("/api/tags", HTTP_X_REQUEST_ID="trace-me")

    [error] = [r for r in caplog.records if r.name == "django.request"]
    line = json.loads(JSONFormatter().format(error))
    assert line["request_id"] == "trace-me"
    assert "ZeroDivisionError" in line["exception"]


# --- Metrics ----------------------------------------------------------------------------------


def test_metrics_are_not_reachable_unless_enabled(api):
    assert api.get("/metrics").status_code == 404


def test_metrics_count_requests_by_view_method_and_status(api, settings):
    settings.METRICS_ENABLED = True
    settings.MIDDLEWARE = ["resources.metrics.MetricsMiddleware", *settings.MIDDLEWARE]
    api.get("/api/tags")
    api.get("/api/articles/missing")

    text = api.get("/metrics").content.decode()

    assert 'conduit_http_requests_total{method="GET",status="200",view="tag-list"}' in text
    assert 'conduit_http_requests_total{method="GET",status="404",view="article-detail"}' in text
    bucket = 'conduit_http_request_duration_seconds_bucket{le="0.005",method="GET",view="tag-list"}'
    assert bucket in text
    assert 'conduit_http_request_db_queries_sum{method="GET",view="tag-list"} ' in text
    assert 'conduit_db_statements_total{database="default"} ' in text


@pytest.mark.django_db(transaction=True)
def test_metrics_add_up_across_gunicorn_workers(tmp_path):
    env = {
        "DATABASE_URL": migrated_sqlite(tmp_path),
        "METRICS_ENABLED": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    with gunicorn(env, workers=3) as server:
        # A sync worker that took a connection waits for its whole request head, so the 59
        # requests sent while this one is half written go to the other workers: at least two
        # count, whichever worker the kernel hands each connection to.
        url = urlsplit(server.url)
        with socket.create_connection((url.hostname, url.port), timeout=30) as held:
            held.sendall(f"GET /api/tags HTTP/1.1\r\nHost: {url.netloc}\r\n".encode())
            for _ in range(59):
                assert fetch(f"{server.url}/api/tags")[0] == 200
            held.sendall(b"Connection: close\r\n\r\n")
            assert held.recv(64).startswith(b"HTTP/1.1 200")
        text = urllib.request.urlopen(f"{server.url}/metrics").read().decode()  # noqa: S310
        pids = {p.stem.rsplit("_", 1)[-1] for p in (tmp_path / "metrics").glob("counter_*.db")}

    line = next(
        row
        for row in text.splitlines()
        if row.startswith("conduit_http_requests_total{") and 'view="tag-list"' in row
    )
    assert float(line.rsplit(" ", 1)[1]) == 60
    assert len(pids) >= 2, pids


# --- Several app servers, one database and one Redis ------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="app servers share PostgreSQL")
def test_two_app_servers_share_tokens_and_rate_limits(redis):
    env = {
        "DATABASE_URL": database_url(),
        **redis.server_env(),
        # A day-long window: the five attempts cannot straddle two windows.
        "RATE_LIMIT_LOGIN_ACCOUNT": "4/day",
    }
    with gunicorn(env) as one, gunicorn(env) as two:
        status, body, _ = fetch(
            f"{one.url}/api/users",
            method="POST",
            body={
                "user": {"username": "scaled", "email": "s@example.com", "password": "password1"}
            },
        )
        assert status == 201
        status, me, _ = fetch(f"{two.url}/api/user", token=body["user"]["token"])
        assert (status, me["user"]["username"]) == (200, "scaled")

        wrong = {"user": {"email": "s@example.com", "password": "nope-nope"}}
        statuses = [
            fetch(f"{server.url}/api/users/login", method="POST", body=wrong)[0]
            for server in (one, two, one, two, one)
        ]
    assert statuses == [401, 401, 401, 401, 429]


@pytest.mark.skipif(
    "replica" not in django_settings.DATABASES,
    reason="runs where DATABASE_REPLICA_URL is set (a pass of its own in .ci/run)",
)
@pytest.mark.django_db(databases=["default", "replica"], transaction=True)
def test_reads_go_to_the_replica_and_a_request_that_writes_uses_the_primary(user):
    recipes.article.make(author=user, slug="s")
    client = client_for(user)
    client.get("/api/tags")  # the first read checks the replica (see tests/test_db_routers.py)

    forget_verified_tokens()  # so that the reader's row is read (and counted) below
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        assert client.get("/api/articles").status_code == 200
    assert len(primary.captured_queries) == 0
    assert len(replica.captured_queries) == 2  # the reader's row, then the page with its count

    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        created = client.post(
            "/api/articles",
            {"article": {"title": "Mine", "description": "d", "body": "b"}},
            format="json",
        )
    assert created.json()["article"]["slug"] == "mine"
    # A request that may write reads what it checks on the primary, the writer's row included
    # (a token verified on the replica is verified again); it answers from the row it wrote,
    # and ends by reading the primary's WAL position.
    assert len(replica.captured_queries) == 0
    assert any('FROM "resources_user"' in q["sql"] for q in primary.captured_queries)
    assert any("INSERT" in q["sql"] for q in primary.captured_queries)
    assert "pg_current_wal_insert_lsn" in primary.captured_queries[-1]["sql"]


# --- Graceful shutdown ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="holds a PostgreSQL row lock")
@pytest.mark.parametrize("serve", [gunicorn, front], ids=["gunicorn", "front"])
def test_sigterm_lets_an_in_flight_request_finish_and_commit(serve):
    # Through the front, SIGTERM goes to the launcher, which passes it on to gunicorn and stops
    # nginx only once gunicorn has finished.
    Tag.objects.create(name="slow")
    env = {"DATABASE_URL": database_url(), "RATE_LIMIT_ARTICLE_WRITE": "off"}
    results: list[tuple] = []
    with serve(env) as server:
        new_user = {"username": "writer", "email": "w@example.com", "password": "password1"}
        token = fetch(f"{server.url}/api/users", method="POST", body={"user": new_user})[1]["user"][
            "token"
        ]
        # Holding the tag's row makes the request wait inside its transaction, mid-write.
        blocker = connection.cursor()
        blocker.execute("BEGIN")
        blocker.execute("SELECT id FROM resources_tag WHERE name = 'slow' FOR UPDATE")
        body = {
            "article": {
                "title": "Written during shutdown",
                "description": "d",
                "body": "b",
                "tagList": ["slow"],
            }
        }
        request = threading.Thread(
            target=lambda: results.append(
                fetch(f"{server.url}/api/articles", method="POST", body=body, token=token)
            )
        )
        request.start()
        time.sleep(1.0)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.process.poll() is None, "gunicorn stopped before its request finished"
        blocker.execute("COMMIT")
        blocker.close()
        request.join(timeout=30)
        assert server.process.wait(timeout=30) == 0

    [(status, article, _)] = results
    assert status == 201
    assert article["article"]["tagList"] == ["slow"]
    assert Article.objects.filter(title="Written during shutdown").exists()


@pytest.mark.django_db(transaction=True)
def test_sigterm_drains_before_the_graceful_stop(tmp_path):
    env = {"DATABASE_URL": migrated_sqlite(tmp_path), "GUNICORN_DRAIN_SECONDS": "2"}
    with gunicorn(env, workers=2) as server:
        assert fetch(f"{server.url}/readyz")[0] == 200
        stopping = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)

        ready = fetch(f"{server.url}/readyz")
        served = fetch(f"{server.url}/api/tags")
        assert server.process.wait(timeout=30) == 0
        stopped = time.monotonic() - stopping

    assert ready[:2] == (503, {"errors": {"draining": ["The server is shutting down."]}})
    assert served[0] == 200
    assert 2 <= stopped < 10


@pytest.mark.django_db(transaction=True)
def test_an_unmigrated_database_is_not_ready_and_api_calls_are_503_json(tmp_path):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with gunicorn({"DATABASE_URL": database}) as server:
        ready = fetch(f"{server.url}/readyz")
        tags = fetch(f"{server.url}/api/tags")
        migrated_sqlite(tmp_path)
        migrated = fetch(f"{server.url}/readyz")

    assert ready[0] == 503
    assert list(ready[1]["errors"]) == ["migrations"]
    assert ready[1]["errors"]["migrations"][0].startswith("The database lacks ")
    assert tags[:2] == (
        503,
        {"errors": {"body": ["The database is unavailable; try again shortly."]}},
    )
    assert migrated[0] == 200


# --- Production settings ----------------------------------------------------------------------


def test_the_deployment_checklist_passes_under_production_settings():
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "false",
        "SECRET_KEY": "k8#Qv2!xZ9$wL4@pT7&mR1^nB6*hJ3%cF5(sD0)gY8-aE2+uI7=oP4_lK9~zX1qW",
        "ALLOWED_HOSTS": "api.example.com",
        "DATABASE_URL": "postgres://conduit@db.internal:5432/conduit",
        "REDIS_URL": "redis://cache.internal:6379/0",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (4 silenced)" in result.stdout
