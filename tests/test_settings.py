"""Settings come from the environment: safe defaults for a newcomer, strict in production."""

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
"""


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
    assert result.stdout.split() == [
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
    assert result.stdout.split() == [
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
