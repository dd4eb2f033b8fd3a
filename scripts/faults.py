"""Fault drills against a real gunicorn server, printing what they measured. Minutes long, so
run by hand (the README's testing section lists the last results):

    .venv/bin/python scripts/faults.py

1. PostgreSQL stops under load: requests fail fast with a 503 JSON answer, the API recovers by
   itself when the database is back, and every write acknowledged before the outage is kept.
2. A worker is killed with SIGKILL while it writes: no partial rows (every article keeps all of
   its tags), and every acknowledged write is there.

The drills use a PostgreSQL cluster of their own (initdb in a temporary directory, run as the
postgres user), so stopping it disturbs nothing else.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_BIN = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(*command: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True)


class Cluster:
    """A throwaway PostgreSQL cluster that can be stopped and started at will."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="conduit-faults-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres"
        )
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.dir / "data"),
            "-l",
            str(self.dir / "log"),
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
            "-w",
            "start",
        )

    def stop(self) -> None:
        as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"
        )

    def sql(self, query: str) -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-At", "-c", query],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def call(url: str, method: str = "GET", body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                json.loads(response.read() or b"null"),
                time.perf_counter() - start,
            )
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), time.perf_counter() - start
    except (
        urllib.error.URLError,
        http.client.HTTPException,
        ConnectionError,
        TimeoutError,
    ) as error:
        return 0, str(error), time.perf_counter() - start


def start_server(cluster: Cluster, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "false",
        "SECRET_KEY": "fault-drill-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": cluster.url,
        "DATABASE_CONNECT_TIMEOUT": "2",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "LOG_LEVEL": "ERROR",
        **{
            f"RATE_LIMIT_{scope}": "off"
            for scope in ("WRITE", "ARTICLE_WRITE", "REGISTRATION_IP", "REGISTRATION_ACCOUNT")
        },
    }
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "api_project.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        if call(f"{url}/healthz")[0] == 200:
            break
        time.sleep(0.1)
    return server, url


def register(url: str, name: str) -> str:
    user = {"username": name, "email": f"{name}@example.com", "password": "password1"}
    status, body, _ = call(f"{url}/api/users", "POST", {"user": user})
    if status != 201:
        raise RuntimeError(f"registration failed: {status} {body}")
    return body["user"]["token"]


class Load:
    """Threads writing articles (and reading lists) until stopped; every answer is recorded."""

    def __init__(self, url: str, token: str, threads: int, tags: int) -> None:
        self.url, self.token, self.tags = url, token, tags
        self.answers: list[tuple[float, str, int, float]] = []
        self.acknowledged: list[str] = []
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(n,)) for n in range(threads)]

    def run(self, number: int) -> None:
        count = 0
        while self.running:
            count += 1
            if count % 3:
                article = {
                    "title": f"Drill {number}-{count}",
                    "description": "d",
                    "body": "b",
                    "tagList": [f"tag{t}" for t in range(self.tags)],
                }
                status, body, seconds = call(
                    f"{self.url}/api/articles", "POST", {"article": article}, self.token
                )
                kind = "write"
                if status == 201:
                    with self.lock:
                        self.acknowledged.append(body["article"]["slug"])
            else:
                status, body, seconds = call(f"{self.url}/api/articles?limit=5", token=self.token)
                kind = "read"
            with self.lock:
                self.answers.append((time.monotonic(), kind, status, seconds))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()

    def between(self, start: float, end: float) -> list[tuple[float, str, int, float]]:
        return [a for a in self.answers if start <= a[0] < end]


def summarise(label: str, answers: list[tuple[float, str, int, float]]) -> None:
    codes: dict[int, int] = {}
    for _, _, status, _ in answers:
        codes[status] = codes.get(status, 0) + 1
    slowest = max((a[3] for a in answers), default=0) * 1000
    statuses = dict(sorted(codes.items()))
    print(f"  {label}: {len(answers)} answers, statuses {statuses}, slowest {slowest:.0f} ms")


@contextlib.contextmanager
def drill(workers: int) -> Iterator[tuple[Cluster, subprocess.Popen, str, str]]:
    """A private cluster, a gunicorn server on it, its URL and a signed-in user's token."""
    cluster = Cluster()
    cluster.start()
    server, url = start_server(cluster, workers=workers)
    try:
        yield cluster, server, url, register(url, "drill")
    finally:
        server.terminate()
        server.wait()
        cluster.remove()


def database_outage() -> bool:
    print("1. PostgreSQL stopped under load")
    with drill(workers=2) as (cluster, _, url, token):
        with Load(url, token, threads=6, tags=3) as load:
            time.sleep(3)
            down = time.monotonic()
            cluster.stop()
            time.sleep(6)
            up = time.monotonic()
            cluster.start()
            time.sleep(4)
        before = load.between(0, down)
        during = load.between(down + 0.5, up)
        after = [a for a in load.between(up, time.monotonic()) if a[2] != 503]
        summarise("before the outage", before)
        summarise("database down", during)
        summarise("after restart", load.between(up, time.monotonic()))
        first_ok = min(
            (a[0] for a in load.between(up, time.monotonic()) if a[2] in (200, 201)), default=None
        )
        recovered = first_ok is not None
        delay = f", {first_ok - up:.1f} s after the database was back" if first_ok else ""
        print(f"  recovered without restarting the app: {recovered}{delay}")
        stored = set(cluster.sql("SELECT slug FROM resources_article").split())
        lost = [slug for slug in load.acknowledged if slug not in stored]
        print(f"  acknowledged writes: {len(load.acknowledged)}, missing afterwards: {len(lost)}")
        fast = all(a[3] < 5 for a in during)
        only_503 = {a[2] for a in during} <= {503}
        print(f"  during the outage every answer was 503 JSON: {only_503}; all within 5 s: {fast}")
        return recovered and not lost and fast and only_503 and bool(during) and bool(after)


def worker_kills() -> bool:
    print("2. Workers killed with SIGKILL while writing")
    with drill(workers=3) as (cluster, server, url, token):
        kills = 0
        with Load(url, token, threads=6, tags=10) as load:
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline:
                time.sleep(random.uniform(0.2, 0.6))
                workers = subprocess.run(
                    ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
                ).stdout.split()
                if workers:
                    os.kill(int(random.choice(workers)), signal.SIGKILL)
                    kills += 1
        articles = int(cluster.sql("SELECT count(*) FROM resources_article"))
        partial = int(
            cluster.sql(
                "SELECT count(*) FROM resources_article a WHERE "
                "(SELECT count(*) FROM resources_articletag t WHERE t.article_id = a.id) <> 10"
            )
        )
        stored = set(cluster.sql("SELECT slug FROM resources_article").split())
        lost = [slug for slug in load.acknowledged if slug not in stored]
        cut = sum(1 for a in load.answers if a[2] == 0)
        print(f"  workers killed: {kills}; requests cut off by a kill: {cut}")
        print(
            f"  articles stored: {articles}; without all 10 tags: {partial}; "
            f"acknowledged: {len(load.acknowledged)}, missing: {len(lost)}"
        )
        return kills > 0 and articles > 0 and partial == 0 and not lost


if __name__ == "__main__":
    results = [database_outage(), worker_kills()]
    print("PASSED" if all(results) else "FAILED")
    sys.exit(0 if all(results) else 1)
