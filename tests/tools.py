"""Helpers for tests that drive what runs outside Python: tools, a browser, servers."""

import json
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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from deploy.launch import NGINX_MODULES

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


def migrated_sqlite(directory: Path) -> str:
    """The URL of a new SQLite database in `directory` with every migration applied, for
    servers a test starts (the suite's own SQLite database lives in this process's memory)."""
    url = f"sqlite:///{directory / 'db.sqlite3'}"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )
    return url


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def raw_http(
    address: tuple[str, int],
    parts: Iterable[bytes],
    *,
    timeout: float = 30,
    source: str | None = None,
) -> RawResponse:
    """Sends a request exactly as given (no client library to correct it), part by part, and
    reads the answer. The request should say `Connection: close`."""
    with socket.create_connection(
        address, timeout=timeout, source_address=(source, 0) if source else None
    ) as sock:
        try:
            for part in parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before reading everything; its answer is still there
        received = bytearray()
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"closed without an answer: {bytes(received)!r}")
            received += data
        head, _, body = bytes(received).partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", -1))
        rest = bytearray(body)
        while length < 0 or len(rest) < length:
            data = sock.recv(65536)
            if not data:
                break
            rest += data
    if headers.get("transfer-encoding") == "chunked":
        rest = dechunked(bytes(rest))
    return RawResponse(int(status_line.split()[1]), headers, bytes(rest))


def dechunked(data: bytes) -> bytearray:
    body = bytearray()
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return body
        body += data[:size]
        data = data[size + 2 :]


def chunked(body: bytes, size: int = 65536) -> Iterator[bytes]:
    """`body` in HTTP/1.1 chunked transfer encoding."""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


# The Redis database the tests may write to; they only touch keys under a prefix of their own,
# which starts with CONDUIT_TEST_REDIS_PREFIX.
TEST_REDIS_URL = os.environ.get("CONDUIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_REDIS_PREFIX = os.environ.get("CONDUIT_TEST_REDIS_PREFIX", "conduit-test")


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
    space = RedisSpace(TEST_REDIS_URL, f"{TEST_REDIS_PREFIX}-{uuid.uuid4().hex[:12]}")
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
    log: IO[bytes]

    def output(self) -> str:
        """What the server has written to stdout and stderr so far."""
        self.log.seek(0)
        return self.log.read().decode()


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 1) -> Iterator[Server]:
    """A gunicorn server started with the repository's config and the given environment."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--config",
        "gunicorn.conf.py",
        "api_project.wsgi:application",
    ]
    with _serve(
        command, port, {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers), **env}
    ) as server:
        yield server


@contextmanager
def runserver(env: dict[str, str]) -> Iterator[Server]:
    """Django's development server as `python3 dev.py serve` runs it (DEBUG on), without the
    reloader, with the given environment."""
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with _serve(command, port, {"DEBUG": "true", **env}) as server:
        yield server


def nginx_with_lua() -> None:
    """Debian's nginx and its Lua module, which the production front runs."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists() or not (NGINX_MODULES / "ngx_http_lua_module.so").exists():
        missing("nginx and its Lua module are needed: apt-get install nginx libnginx-mod-http-lua")


@contextmanager
def front(env: dict[str, str], *, workers: int = 1) -> Iterator[Server]:
    """The production front as the container runs it (deploy/launch.py: nginx in front of
    gunicorn), on a free port, with the given environment."""
    nginx_with_lua()
    port = free_port()
    command = [sys.executable, "-m", "deploy", "serve", f"127.0.0.1:{port}"]
    with _serve(command, port, {"WEB_CONCURRENCY": str(workers), **env}) as server:
        yield server


@contextmanager
def _serve(command: list[str], port: int, env: dict[str, str]) -> Iterator[Server]:
    """Starts a server with production settings, waits until it answers on `port`, and stops it
    with SIGTERM afterwards."""
    url = f"http://127.0.0.1:{port}"
    environment = {
        "PATH": os.environ["PATH"],
        "DEBUG": "false",
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-for-production-checks-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Stopped at once, unless a test is about draining.
        "GUNICORN_DRAIN_SECONDS": "0",
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
            yield Server(url, process, log)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=60)
