"""Deployment pieces outside the request path: gunicorn's worker count from the CPU quota, its
clean start, the front's address, and migrations applied once by instances starting together."""

import gzip
import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test import Client

from api_project import settings as project_settings
from deploy.cpu import available_cpus, cpu_quota, parse_cfs_quota, parse_cpu_max, web_concurrency
from deploy.launch import listen_address, probe_url
from resources.management.commands.migrate import MIGRATION_LOCK
from tests.tools import ROOT, gunicorn, migrated_sqlite

# --- Workers from the CPU quota ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cpus"),
    [
        ("max 100000\n", None),
        ("max\n", None),
        ("200000 100000\n", 2.0),
        ("150000 100000\n", 1.5),
        ("50000 100000\n", 0.5),
        ("100000\n", 1.0),
        ("", None),
    ],
)
def test_cgroup_v2_cpu_max_is_read(text, cpus):
    assert parse_cpu_max(text) == cpus


@pytest.mark.parametrize(
    ("quota", "period", "cpus"),
    [("-1\n", "100000\n", None), ("300000\n", "100000\n", 3.0), ("25000", "100000", 0.25)],
)
def test_cgroup_v1_cfs_quota_is_read(quota, period, cpus):
    assert parse_cfs_quota(quota, period) == cpus


def cgroup(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_a_quota_caps_the_cpus_and_rounds_up(tmp_path):
    cpus = len(os.sched_getaffinity(0))

    assert cpu_quota(cgroup(tmp_path / "v2", {"cpu.max": "150000 100000"})) == 1.5
    assert available_cpus(tmp_path / "v2") == min(cpus, 2)
    assert available_cpus(cgroup(tmp_path / "small", {"cpu.max": "10000 100000"})) == 1
    assert available_cpus(cgroup(tmp_path / "none", {"cpu.max": "max 100000"})) == cpus
    assert available_cpus(tmp_path / "no-cgroup-files") == cpus
    v1 = {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}
    assert available_cpus(cgroup(tmp_path / "v1", v1)) == 1


def test_workers_are_two_per_cpu_plus_one_unless_web_concurrency_says(tmp_path):
    one_cpu = cgroup(tmp_path, {"cpu.max": "100000 100000"})

    assert web_concurrency({}, one_cpu) == 3
    assert web_concurrency({"WEB_CONCURRENCY": ""}, one_cpu) == 3
    assert web_concurrency({"WEB_CONCURRENCY": "7"}, one_cpu) == 7
    for wrong in ("0", "-2", "many", "2.5"):
        with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be a whole number"):
            web_concurrency({"WEB_CONCURRENCY": wrong}, one_cpu)


@pytest.mark.django_db(transaction=True)
def test_gunicorn_starts_without_an_error_line_for_a_user_without_a_home(tmp_path):
    # The container's user has no home folder, where gunicorn's control socket would go.
    env = {"DATABASE_URL": migrated_sqlite(tmp_path), "HOME": str(tmp_path / "no-such-home")}
    with gunicorn(env, workers=2) as server:
        time.sleep(1)
        log = server.output()

    assert "Booting worker" in log
    assert [line for line in log.splitlines() if "[WARNING]" in line or "[ERROR]" in line] == []
    assert not (tmp_path / "no-such-home").exists()


# --- The image and compose.yaml ---------------------------------------------------------------


def test_compose_builds_from_the_base_image_argument_and_outlasts_the_graceful_drain():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    api = compose["services"]["api"]
    gunicorn_settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    assert api["build"]["args"]["PYTHON_IMAGE"].startswith("${PYTHON_IMAGE")
    assert int(api["stop_grace_period"].removesuffix("s")) > gunicorn_settings["graceful_timeout"]
    assert api["healthcheck"]["test"] == ["CMD", "python3", "-m", "deploy", "healthcheck"]
    assert compose["services"]["migrate"]["command"] == ["migrate"]
    assert api["read_only"] is True
    assert api["tmpfs"] == ["/tmp"]  # noqa: S108 (a path inside the container)
    for service in ("db", "cache"):
        assert compose["services"][service]["healthcheck"]["test"]


# --- Static files -----------------------------------------------------------------------------


def test_collected_static_files_are_hashed_compressed_and_cached_for_a_year(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = project_settings.STORAGES
    call_command("collectstatic", "--no-input", verbosity=0)
    client = Client()

    page = client.get("/api/docs").content.decode()
    [css] = re.findall(r"/static/[^\"]*/swagger-ui\.([0-9a-f]{12})\.css", page)
    response = client.get(
        f"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.{css}.css",
        HTTP_ACCEPT_ENCODING="gzip",
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.getvalue()).startswith(b".swagger-ui")


# --- The front's address ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "given", "listen", "probe"),
    [
        ({}, None, "0.0.0.0:8000", "http://127.0.0.1:8000/healthz"),
        ({"PORT": "9000"}, None, "0.0.0.0:9000", "http://127.0.0.1:9000/healthz"),
        ({"BIND": "127.0.0.2:8100", "PORT": "9000"}, None, "127.0.0.2:8100", None),
        ({"BIND": "[::]:8000"}, None, "[::]:8000", "http://[::1]:8000/healthz"),
        ({"PORT": "9000"}, "127.0.0.1:8080", "127.0.0.1:8080", None),
    ],
)
def test_the_front_listens_on_bind_or_port_and_is_probed_there(environ, given, listen, probe):
    assert listen_address(environ, given) == listen
    if given is None:
        assert probe_url(environ) == (probe or f"http://{listen}/healthz")


@pytest.mark.parametrize("address", ["localhost", "http://127.0.0.1:80", "1.2.3.4:80; evil"])
def test_an_address_nginx_could_misread_is_refused(address):
    with pytest.raises(SystemExit, match="give HOST:PORT"):
        listen_address({}, address)


# --- Migrations, once -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="an advisory lock of PostgreSQL")
def test_instances_starting_at_once_apply_each_migration_once():
    import psycopg

    settings = connection.settings_dict
    server = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
    }
    name = f"{settings['NAME']}_migrate_once"
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    url = f"postgres://{auth}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(dbname=name, autocommit=True, **server) as holder:
            # The test holds the lock first, so all four instances are surely waiting on it at
            # once, and surely race for it when it is let go.
            holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
            env = {**os.environ, "DATABASE_URL": url}
            instances = [
                subprocess.Popen(
                    [sys.executable, "-m", "deploy", "migrate"],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                for _ in range(4)
            ]
            deadline = time.monotonic() + 60
            waiting = 0
            while waiting < 4 and time.monotonic() < deadline:
                time.sleep(0.2)
                [(waiting,)] = holder.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = %s)",
                    [name],
                ).fetchall()
            assert waiting == 4
            holder.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
            outputs = [instance.communicate(timeout=120)[0] for instance in instances]
        assert [instance.returncode for instance in instances] == [0, 0, 0, 0], outputs

        applied = [line for out in outputs for line in out.splitlines() if "Applying" in line]
        with psycopg.connect(dbname=name, **server) as check:
            rows = check.execute("SELECT app, name FROM django_migrations").fetchall()
        assert len(rows) == len(set(rows)) == len(applied)
        assert len(set(applied)) == len(applied)
        assert sum("No migrations to apply." in out for out in outputs) == 3
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
