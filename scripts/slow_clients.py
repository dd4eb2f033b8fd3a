"""Slow clients against a Conduit API server while normal traffic runs; prints what it measured
and exits non-zero unless the server came through.

    .venv/bin/python scripts/slow_clients.py                     # starts `dev.py prod` itself
    .venv/bin/python scripts/slow_clients.py --url http://127.0.0.1:8000   # a running server
    .venv/bin/python scripts/slow_clients.py --bare              # gunicorn alone, for comparison
    .venv/bin/python scripts/slow_clients.py --seconds 35        # the short version CI runs

For --seconds (60), it holds:
- slowloris connections (200): a request line, then one more header line every --interval
  seconds (3), never finishing the headers;
- slow-body connections (50): a POST with Content-Length whose body comes one byte every
  --interval seconds.
A connection the server cuts is opened again, so the pressure stays. The attack comes from
--attack-addresses loopback addresses (10; 127.0.1.x) when the server is on this machine, so a
per-address connection limit alone cannot be what holds it off. Meanwhile normal traffic (four
clients from 127.0.0.1: the article list and single articles, one request each in turn) runs.

It fails when the normal traffic's p99 is 1 s or more, when any normal request failed (an error,
a status other than 200, no answer within 10 s), or when a slow connection lived longer than the
bound: the front's header or request deadline (NGINX_HEADER_TIMEOUT, NGINX_REQUEST_TIMEOUT: 10
and 30 s unless set) plus 5 s, or --bound.

Without --url it starts the server on 127.0.0.1 (a port from 18400-18499) with the environment it
is given (DATABASE_URL: else a new SQLite file), adds articles through the API when there are
none, and stops the server by process id when done.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REQUEST_TIMEOUT = 10.0


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # Per kind of slow connection: how long each lived before the server cut it.
    cut: dict[str, list[float]] = field(default_factory=lambda: {"slowloris": [], "slow body": []})
    # Per kind: the age of each connection still open when the attack ended.
    held: dict[str, list[float]] = field(default_factory=lambda: {"slowloris": [], "slow body": []})
    refused: dict[str, int] = field(default_factory=lambda: {"slowloris": 0, "slow body": 0})


# --- Normal traffic ---------------------------------------------------------------------------


async def get(host: str, port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head:
        raise ConnectionError("no answer")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return status, body


def dechunk(data: bytes) -> bytes:
    body = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body, data = body + data[:size], data[size + 2 :]
    return body


async def normal_client(
    host: str, port: int, slugs: list[str], until: float, figures: Figures, n: int
) -> None:
    turn = n
    while time.monotonic() < until:
        turn += 1
        path = "/api/articles?limit=20" if turn % 2 else f"/api/articles/{slugs[turn % len(slugs)]}"
        start = time.monotonic()
        try:
            status, _ = await asyncio.wait_for(get(host, port, path), REQUEST_TIMEOUT)
        except (TimeoutError, OSError, ValueError, IndexError) as error:
            figures.failures.append(f"GET {path}: {error.__class__.__name__} {error}")
        else:
            if status != 200:
                figures.failures.append(f"GET {path}: {status}")
        figures.latencies.append(time.monotonic() - start)
        await asyncio.sleep(0.02)


# --- Slow clients -----------------------------------------------------------------------------


async def slow_connection(
    kind: str,
    host: str,
    port: int,
    source: str | None,
    interval: float,
    until: float,
    figures: Figures,
) -> None:
    """One slot of the attack: a slow connection, opened again whenever the server cuts it."""
    while time.monotonic() < until:
        opened = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(
                host, port, local_addr=(source, 0) if source else None
            )
        except OSError:
            figures.refused[kind] += 1
            await asyncio.sleep(interval)
            continue
        if kind == "slowloris":
            first = f"GET /api/articles HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow-0: 1\r\n"
        else:
            first = (
                f"POST /api/users HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"
            )

        async def trickle(writer: asyncio.StreamWriter = writer, first: str = first) -> None:
            writer.write(first.encode())
            await writer.drain()
            n = 0
            while True:
                await asyncio.sleep(interval)
                n += 1
                writer.write(f"X-Slow-{n}: 1\r\n".encode() if kind == "slowloris" else b" ")
                await writer.drain()

        sending = asyncio.ensure_future(trickle())
        closed = asyncio.ensure_future(reader.read())  # b"" or an answer, then EOF
        try:
            left = until - time.monotonic()
            done, _ = await asyncio.wait(
                {sending, closed}, timeout=max(left, 0), return_when=asyncio.FIRST_COMPLETED
            )
            if done:
                # Cut: the server closed, or reset, or refused what was sent.
                with contextlib.suppress(Exception):
                    await closed
                figures.cut[kind].append(time.monotonic() - opened)
            else:
                figures.held[kind].append(time.monotonic() - opened)
        finally:
            for task in (sending, closed):
                task.cancel()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


# --- The run ----------------------------------------------------------------------------------


async def attack(url: str, slugs: list[str], args: argparse.Namespace) -> Figures:
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    local = host in ("127.0.0.1", "localhost")
    sources = [f"127.0.1.{n + 1}" for n in range(args.attack_addresses)] if local else [None]
    figures = Figures()
    start = time.monotonic()
    until = start + args.seconds
    tasks = []
    slots = [("slowloris", n) for n in range(args.slowloris)]
    slots += [("slow body", n) for n in range(args.slow_bodies)]
    for kind, n in slots:
        source = sources[n % len(sources)]
        slot = slow_connection(kind, host, port, source, args.interval, until, figures)
        tasks.append(asyncio.ensure_future(slot))
        await asyncio.sleep(0.005)
    # The slow connections are in place before the normal traffic is measured.
    await asyncio.sleep(1)
    for n in range(4):
        tasks.append(asyncio.ensure_future(normal_client(host, port, slugs, until, figures, n)))
    await asyncio.gather(*tasks)
    return figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def report(figures: Figures, args: argparse.Namespace, bound: float) -> bool:
    latencies = figures.latencies
    p99 = percentile(latencies, 0.99)
    print(
        f"normal traffic: {len(latencies)} requests, {len(figures.failures)} failed, "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {max(latencies, default=0) * 1000:.0f} ms"
    )
    for failure in figures.failures[:5]:
        print(f"  failed: {failure}")
    longest = 0.0
    for kind, wanted in (("slowloris", args.slowloris), ("slow body", args.slow_bodies)):
        cut, held = figures.cut[kind], figures.held[kind]
        lifetimes = cut + held
        longest = max([longest, *lifetimes])
        median = statistics.median(cut) if cut else 0
        print(
            f"{kind}: {wanted} held at once; {len(cut)} cut by the server after "
            f"{median:.1f} s median, {max(cut, default=0):.1f} s max; "
            f"{len(held)} still open at the end (oldest {max(held, default=0):.1f} s); "
            f"{figures.refused[kind]} connections refused"
        )
    verdict = {
        "p99 under 1 s": p99 < 1.0,
        "no normal request failed": not figures.failures and bool(latencies),
        f"no slow connection lived past {bound:.0f} s": longest <= bound,
    }
    for check, passed in verdict.items():
        print(f"{'PASS' if passed else 'FAIL'}: {check}")
    return all(verdict.values())


# --- Servers this script starts ---------------------------------------------------------------


def port_in_range() -> int:
    for port in range(18400, 18500):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port in 18400-18499")


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer within 180 s:\n{log.read_text()}")


@contextlib.contextmanager
def server(bare: bool, workdir: Path) -> Iterator[str]:
    """`dev.py prod` (or gunicorn alone), stopped by process id afterwards."""
    port = port_in_range()
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'db.sqlite3'}"
        env["ALLOW_SQLITE"] = "true"
    env.setdefault("SECRET_KEY", "slow-clients-" + os.urandom(24).hex())
    env.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    env["DEBUG"] = "false"
    if bare:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
        )
        command = [
            PYTHON,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "api_project.wsgi:application",
        ]
        env["BIND"] = f"127.0.0.1:{port}"
    else:
        command = [PYTHON, "dev.py", "prod", f"127.0.0.1:{port}"]
        env["MIGRATE_ON_START"] = "1"
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(url, process, log)
        print(f"started {'gunicorn alone' if bare else 'dev.py prod'} at {url} (pid {process.pid})")
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        print(f"stopped the server (status {process.returncode})")


def call(url: str, method: str, path: str, body: dict | None = None, token: str = "") -> dict:
    request = urllib.request.Request(
        f"{url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Token {token}"} if token else {}),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def article_slugs(url: str) -> list[str]:
    """Slugs of articles to read; when there are none, a user and a few articles are added."""
    slugs = [a["slug"] for a in call(url, "GET", "/api/articles?limit=20")["articles"]]
    if slugs:
        return slugs
    name = "slow" + os.urandom(4).hex()
    user = {"username": name, "email": f"{name}@example.com", "password": "slow-clients-1"}
    token = call(url, "POST", "/api/users", {"user": user})["user"]["token"]
    for n in range(5):
        article = {"title": f"Slow clients {name} {n}", "description": "d", "body": "b" * 2000}
        call(url, "POST", "/api/articles", {"article": article}, token)
    return [a["slug"] for a in call(url, "GET", "/api/articles?limit=20")["articles"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="attack this running server instead of starting one")
    parser.add_argument("--bare", action="store_true", help="start gunicorn alone, no front")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--slowloris", type=int, default=200)
    parser.add_argument("--slow-bodies", type=int, default=50)
    parser.add_argument("--interval", type=float, default=3)
    parser.add_argument("--attack-addresses", type=int, default=10)
    parser.add_argument("--bound", type=float, help="seconds a slow connection may live")
    args = parser.parse_args()
    deadlines = [
        float(os.environ.get("NGINX_HEADER_TIMEOUT") or 10),
        float(os.environ.get("NGINX_REQUEST_TIMEOUT") or 30),
    ]
    bound = args.bound or max(deadlines) + 5

    with contextlib.ExitStack() as stack:
        if args.url:
            url = args.url.rstrip("/")
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="slow-clients-")))
            url = stack.enter_context(server(args.bare, workdir))
        slugs = article_slugs(url)
        print(
            f"attacking {url} for {args.seconds:.0f} s: {args.slowloris} slowloris and "
            f"{args.slow_bodies} slow-body connections, one line or byte every "
            f"{args.interval:.0f} s, while 4 clients read articles"
        )
        figures = asyncio.run(attack(url, slugs, args))
        return 0 if report(figures, args, bound) else 1
    return 1  # not reached: the block returns


if __name__ == "__main__":
    sys.exit(main())
