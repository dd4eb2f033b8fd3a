"""Settings come from the environment: safe defaults for a newcomer, strict in production."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = """
import django
from django.conf import settings
django.setup()
print(
    settings.DEBUG,
    settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[1],
    settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[1],
    settings.TOKEN_LIFETIME.total_seconds(),
    settings.CORS_ALLOW_ALL_ORIGINS,
    ",".join(settings.ALLOWED_HOSTS),
)
print(sorted(settings.DATABASES))
print(settings.MIDDLEWARE)
"""
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgres://conduit@db.internal:5432/conduit",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "PUBLIC_BASE_URL": "https://conduit.example.com",
}


def printed(result: subprocess.CompletedProcess) -> list[str]:
    """The settings PRINT_SETTINGS printed (after whatever was logged at startup)."""
    return result.stdout.splitlines()[-3].split()


def logged(result: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()[:-3]]


def run_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "api_project.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_with_nothing_set_the_project_runs_on_sqlite_with_debug_on():
    result = run_settings()

    assert result.returncode == 0, result.stderr
    assert printed(result) == [
        "True",
        "sqlite3",
        "LocMemCache",
        "604800.0",
        "True",
        "localhost,127.0.0.1,[::1]",
    ]


def test_without_a_secret_key_production_refuses_to_start():
    result = run_settings(DEBUG="false", ALLOWED_HOSTS="api.example.com")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_without_allowed_hosts_production_refuses_to_start():
    result = run_settings(DEBUG="false", SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_production_settings_come_from_the_environment():
    result = run_settings(
        DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="api.example.com,www.example.com",
        DATABASE_URL="postgres://conduit@db.internal:5432/conduit",
        TOKEN_LIFETIME_SECONDS="3600",
        CORS_ALLOWED_ORIGINS="https://conduit.example",
    )

    assert result.returncode == 0, result.stderr
    assert printed(result) == [
        "False",
        "postgresql",
        "LocMemCache",
        "3600.0",
        "False",
        "api.example.com,www.example.com",
    ]


@pytest.mark.parametrize(
    ("name", "value"), [("DEBUG", "maybe"), ("TOKEN_LIFETIME_SECONDS", "soon")]
)
def test_a_malformed_setting_is_named(name, value):
    result = run_settings(**{name: value})

    assert result.returncode != 0
    assert name in result.stderr


def test_without_a_database_url_production_refuses_to_start():
    result = run_settings(**{**PRODUCTION, "DATABASE_URL": ""})

    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert "ALLOW_SQLITE=true" in result.stderr


def test_production_runs_on_sqlite_only_when_told_to():
    result = run_settings(**{**PRODUCTION, "DATABASE_URL": "", "ALLOW_SQLITE": "true"})

    assert result.returncode == 0, result.stderr
    assert printed(result)[:2] == ["False", "sqlite3"]


def test_without_redis_production_starts_and_warns_that_limits_are_per_process():
    result = run_settings(**{**PRODUCTION, "REDIS_URL": ""})

    assert result.returncode == 0, result.stderr
    assert printed(result)[:3] == ["False", "postgresql", "LocMemCache"]
    [warning] = logged(result)
    assert (warning["level"], warning["logger"]) == ("warning", "conduit.settings")
    assert warning["message"].startswith(
        "REDIS_URL is not set: the cache is in-process, so rate limits"
    )
    assert "kept per process" in warning["message"]


def test_with_redis_production_starts_without_a_warning():
    result = run_settings(**PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert logged(result) == []


def test_replicas_are_named_one_or_several():
    one = run_settings(DATABASE_REPLICA_URL="postgres://db-replica/conduit")
    several = run_settings(DATABASE_REPLICA_URLS="postgres://r1/conduit, postgres://r2/conduit")
    none = run_settings()

    assert one.stdout.splitlines()[-2] == "['default', 'replica']"
    assert several.stdout.splitlines()[-2] == "['default', 'replica', 'replica_2']"
    assert "resources.middleware.ReadReplicaMiddleware" in several.stdout.splitlines()[-1]
    assert "resources.middleware.ReadReplicaMiddleware" not in none.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DATABASE_REPLICA_URL": "postgres://a/c", "DATABASE_REPLICA_URLS": "postgres://b/c"},
            "not both",
        ),
        ({"DATABASE_STICKY_SECONDS": "10"}, "DATABASE_STICKY_SECONDS must be at least"),
    ],
)
def test_replica_settings_that_cannot_work_are_refused(env, message):
    result = run_settings(**env)

    assert result.returncode != 0
    assert message in result.stderr


PRINT_PUBLIC_SETTINGS = """
import django
from django.conf import settings
django.setup()
print(repr(settings.PUBLIC_BASE_URL), repr(settings.FRONTEND_ARTICLE_URL))
"""


def run_public_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "-c", PRINT_PUBLIC_SETTINGS],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "api_project.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_public_base_url_defaults_to_the_development_server_with_debug_on():
    result = run_public_settings()

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "'http://127.0.0.1:8000' ''"


def test_public_base_url_is_kept_without_its_trailing_slash():
    result = run_public_settings(
        PUBLIC_BASE_URL="https://conduit.example.com/blog/",
        FRONTEND_ARTICLE_URL="https://app.example.com/#/article/{slug}",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "'https://conduit.example.com/blog' 'https://app.example.com/#/article/{slug}'"
    )


def test_without_public_base_url_production_starts_and_warns_that_public_pages_are_off():
    result = run_settings(**{**PRODUCTION, "PUBLIC_BASE_URL": ""})

    assert result.returncode == 0, result.stderr
    [warning] = logged(result)
    assert (warning["level"], warning["logger"]) == ("warning", "conduit.settings")
    assert warning["message"].startswith("PUBLIC_BASE_URL is not set: the feeds")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PUBLIC_BASE_URL": "conduit.example.com"}, "PUBLIC_BASE_URL must be"),
        ({"PUBLIC_BASE_URL": "ftp://conduit.example.com"}, "PUBLIC_BASE_URL must be"),
        ({"PUBLIC_BASE_URL": "https://conduit.example.com/?a=1"}, "PUBLIC_BASE_URL must be"),
        ({"FRONTEND_ARTICLE_URL": "https://app.example.com/"}, "FRONTEND_ARTICLE_URL must be"),
        ({"FRONTEND_ARTICLE_URL": "javascript:{slug}"}, "FRONTEND_ARTICLE_URL must be"),
    ],
)
def test_public_address_settings_that_cannot_work_are_refused(env, message):
    result = run_settings(**env)

    assert result.returncode != 0
    assert message in result.stderr
