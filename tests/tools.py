"""Helpers for tests that drive tools outside Python (the schema linter, tsc, a browser)."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# CI sets this, so that a missing tool fails the run instead of skipping the tests that need it.
REQUIRE_ALL_TOOLS = os.environ.get("CONDUIT_REQUIRE_ALL_TOOLS") == "1"


def missing(reason: str) -> None:
    if REQUIRE_ALL_TOOLS:
        pytest.fail(reason)
    pytest.skip(reason)


def node_tool(name: str) -> Path:
    """A tool from node_modules/.bin, installed by `npm ci` (dev.py test does it when npm is
    available)."""
    tool = ROOT / "node_modules" / ".bin" / name
    if not tool.exists():
        missing(f"{name} is not installed: run `npm ci` (needs Node.js 20+)")
    return tool


# Debian's chromium as the browser tests run it: headless, no network of its own.
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    """Debian's chromium, the browser for the browser tests (`apt-get install chromium`)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        missing("chromium is not installed: run `apt-get install chromium`")
    return str(path)


def wait_for_live_server_requests(timeout: float = 10) -> None:
    """Waits until the live server's request threads (which hold database connections) have
    finished, once the clients hung up; PostgreSQL refuses to drop the test database while
    they are connected."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any("process_request_thread" in t.name for t in threading.enumerate()):
            return
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The URL of the database the tests run on, for servers started by a test."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


# The Redis database the tests may write to; they only touch keys under a prefix of their own.
TEST_REDIS_URL = os.environ.get("CONDUIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@dataclass
class RedisSpace:
    """A key prefix of one test's own in the test Redis database."""

    url: str
    prefix: str

    def cache_settings(self) -> dict:
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": self.url,
            "KEY_PREFIX": self.prefix,
        }

    def server_env(self) -> dict[str, str]:
        return {"REDIS_URL": self.url, "CACHE_KEY_PREFIX": self.prefix}


@contextmanager
def redis_space() -> Iterator[RedisSpace]:
    """A fresh key prefix in the test Redis database, whose keys are deleted afterwards (and
    nothing else); skips, or fails in CI, where Redis is not reachable."""
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        missing(f"Redis is not reachable at {TEST_REDIS_URL}")
    space = RedisSpace(TEST_REDIS_URL, f"conduit-test-{uuid.uuid4().hex[:12]}")
    try:
        yield space
    finally:
        for key in client.scan_iter(match=f"{space.prefix}:*", count=1000):
            client.delete(key)
        client.close()


@dataclass
class Server:
    url: str
    process: subprocess.Popen


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 1) -> Iterator[Server]:
    """A gunicorn server started with the repository's config and the given environment."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config",
        "gunicorn.conf.py",
        "api_project.wsgi:application",
    ]
    environment = {
        "PATH": os.environ["PATH"],
        "DEBUG": "false",
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-for-production-checks-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        **env,
    }
    # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe blocks.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(log.read().decode()) from None
                    time.sleep(0.1)
            yield Server(url, process)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)
