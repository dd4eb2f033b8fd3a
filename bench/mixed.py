"""The mixed load: 50 signed-in users at once, 80% reads across lists, filters, the feed and
single articles, 20% writes (favorites, comments, follows, new articles, updates), against the
production server (gunicorn.conf.py, 2 workers, production settings, Redis).

    .venv/bin/python bench/mixed.py --database conduit_bench_50000
    .venv/bin/python bench/run.py --mixed          # the same, on bench/run.py's database

Each user picks every next request from the weighted table KINDS. The load generator is Python
(asyncio, one connection per request, as gunicorn's sync workers close each one) rather than
wrk, so that each kind of request gets its own latencies. It prints the throughput, p50 and p99
per kind, the error answers (any status >= 400) and PostgreSQL's deadlock count for the database
before and after (pg_stat_database.deadlocks). The run is bounded in time and touches only
127.0.0.1. The writes stay in the database: use a database made for benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# After the path is set: the script runs as bench/mixed.py, outside any package.
from bench.run import BIN, SECRET_KEY, psql, run, start

USERS = 50


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    write: bool = False


# Weights out of 100: 80 reads, 20 writes.
KINDS = [
    Kind("list", 12),
    Kind("list_anonymous", 8),
    Kind("tag_filter", 10),
    Kind("author_filter", 8),
    Kind("favorited_filter", 5),
    Kind("feed", 12),
    Kind("article", 20),
    Kind("comments", 5),
    Kind("favorite", 5, write=True),
    Kind("unfavorite", 3, write=True),
    Kind("comment", 4, write=True),
    Kind("follow", 2, write=True),
    Kind("unfollow", 1, write=True),
    Kind("create", 3, write=True),
    Kind("update", 2, write=True),
]
assert sum(k.weight for k in KINDS) == 100
assert sum(k.weight for k in KINDS if k.write) == 20

# The server's write limits are off for the load (50 users write far more than an hour's worth
# in a minute); the throttles still run, as they do in production.
UNLIMITED = {
    f"RATE_LIMIT_{scope}": "off"
    for scope in ("WRITE", "ARTICLE_WRITE", "COMMENT_WRITE", "FAVORITE", "FOLLOW")
}


def population(url: str, users: int) -> dict[str, Any]:
    """Users with a published article of their own each (for updates) and their tokens, made by
    the app's own code; article slugs, usernames and tags to pick from."""
    script = textwrap.dedent(f"""
        import json, random
        from resources.authentication import token_issue
        from resources.models import Article, Tag, User
        random.seed(14)
        authors = (User.objects.filter(is_active=True, articles__status="published")
                   .distinct().order_by("pk")[:{users}])
        people = []
        for user in authors:
            own = (Article.objects.filter(author=user, status="published")
                   .order_by("pk").values_list("slug", flat=True).first())
            people.append({{"token": token_issue(user=user), "username": user.username,
                            "own": own}})
        slugs = list(Article.objects.filter(status="published").order_by("?")
                     .values_list("slug", flat=True)[:3000])
        names = list(User.objects.order_by("?").values_list("username", flat=True)[:500])
        tags = list(Tag.objects.order_by("-articles_count").values_list("name", flat=True)[:50])
        print(json.dumps({{"users": people, "slugs": slugs, "usernames": names, "tags": tags}}))
    """)
    out = run(
        BIN / "python",
        "manage.py",
        "shell",
        "-v0",
        "-c",
        script,
        env={"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY},
    )
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if len(found["users"]) < users:
        sys.exit(f"the database has only {len(found['users'])} users with a published article")
    return found


class User:
    """One simulated user: their token and what they pick from."""

    def __init__(self, number: int, person: dict[str, Any], world: dict[str, Any], nonce: str):
        self.number = number
        self.token = person["token"]
        self.username = person["username"]
        self.own = person["own"]
        self.world = world
        self.nonce = nonce
        self.count = 0
        self.random = random.Random(number)

    def request(self, kind: str) -> tuple[str, str, bytes | None, bool]:
        """(method, path, JSON body or None, signed in) for one request of this kind."""
        pick = self.random.choice
        slug = pick(self.world["slugs"])
        others = [u for u in self.world["usernames"] if u.lower() != self.username.lower()]
        self.count += 1
        body: dict[str, Any] | None = None
        if kind == "list":
            method, path = "GET", "/api/articles?limit=20"
        elif kind == "list_anonymous":
            offset = self.random.randrange(0, 100)
            return "GET", f"/api/articles?limit=20&offset={offset}", None, False
        elif kind == "tag_filter":
            method, path = "GET", f"/api/articles?tag={pick(self.world['tags'])}&limit=20"
        elif kind == "author_filter":
            method, path = "GET", f"/api/articles?author={pick(others)}&limit=20"
        elif kind == "favorited_filter":
            method, path = "GET", f"/api/articles?favorited={pick(others)}&limit=20"
        elif kind == "feed":
            method, path = "GET", "/api/articles/feed?limit=20"
        elif kind == "article":
            method, path = "GET", f"/api/articles/{slug}"
        elif kind == "comments":
            method, path = "GET", f"/api/articles/{slug}/comments"
        elif kind == "favorite":
            method, path = "POST", f"/api/articles/{slug}/favorite"
        elif kind == "unfavorite":
            method, path = "DELETE", f"/api/articles/{slug}/favorite"
        elif kind == "comment":
            method, path = "POST", f"/api/articles/{slug}/comments"
            body = {"comment": {"body": f"A *measured* remark, number {self.count}."}}
        elif kind == "follow":
            method, path = "POST", f"/api/profiles/{pick(others)}/follow"
        elif kind == "unfollow":
            method, path = "DELETE", f"/api/profiles/{pick(others)}/follow"
        elif kind == "create":
            method, path = "POST", "/api/articles"
            title = f"Mixed load {self.nonce} {self.number} {self.count}"
            tags = [pick(self.world["tags"]) for _ in range(3)]
            body = {
                "article": {
                    "title": title,
                    "description": "Written under load.",
                    "body": "Reads and writes, *interleaved*.",
                    "tagList": tags,
                }
            }
        elif kind == "update":
            method, path = "PUT", f"/api/articles/{self.own}"
            body = {"article": {"body": f"Updated under load, version {self.count}."}}
        else:
            raise ValueError(kind)
        return method, path, json.dumps(body).encode() if body is not None else None, True


async def send(port: int, method: str, path: str, body: bytes | None, token: str | None) -> int:
    """One HTTP/1.1 request on its own connection; the answer's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    if token is not None:
        head.append(f"Authorization: Token {token}")
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
    await writer.drain()
    answer = await reader.read()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    status_line = answer.split(b"\r\n", 1)[0].split()
    return int(status_line[1]) if len(status_line) > 1 else 0


async def drive(port: int, users: list[User], seconds: float) -> dict[str, list[tuple[float, int]]]:
    """Every user sends one request after another for `seconds`; latencies (ms) and statuses
    per kind."""
    names = [k.name for k in KINDS]
    weights = [k.weight for k in KINDS]
    results: dict[str, list[tuple[float, int]]] = collections.defaultdict(list)
    deadline = time.perf_counter() + seconds

    async def user_loop(user: User) -> None:
        while time.perf_counter() < deadline:
            kind = user.random.choices(names, weights)[0]
            method, path, body, signed_in = user.request(kind)
            began = time.perf_counter()
            try:
                status = await send(port, method, path, body, user.token if signed_in else None)
            except OSError:
                status = 0
            results[kind].append((1000 * (time.perf_counter() - began), status))

    await asyncio.gather(*(user_loop(user) for user in users))
    return results


def deadlocks(database: str) -> int:
    sql = f"SELECT deadlocks FROM pg_stat_database WHERE datname = '{database}'"
    return int(psql("postgres", sql))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def mixed(url: str, port: int, redis_url: str, seconds: int, warmup: int, users: int) -> bool:
    """Runs the mixed load and prints its table; True when it had no error and no deadlock."""
    database = url.rsplit("/", 1)[1]
    world = population(url, users)
    nonce = f"{time.time_ns():x}"
    people = [User(n, person, world, nonce) for n, person in enumerate(world["users"])]
    server = start(
        "Conduit API",
        "api_project.wsgi:application",
        url,
        port,
        # The shared response cache off, as in bench/run.py: the load is on the work itself.
        {"REDIS_URL": redis_url, "RESPONSE_CACHE": "false", **UNLIMITED},
    )
    try:
        asyncio.run(drive(port, people, warmup))
        before = deadlocks(database)
        started = time.perf_counter()
        results = asyncio.run(drive(port, people, seconds))
        elapsed = time.perf_counter() - started
        after = deadlocks(database)
    finally:
        server.terminate()
        server.wait()

    total = sum(len(r) for r in results.values())
    errors = {
        kind: collections.Counter(s for _, s in r if s >= 400 or s == 0)
        for kind, r in results.items()
    }
    error_count = sum(sum(c.values()) for c in errors.values())
    writes = sum(len(results[k.name]) for k in KINDS if k.write)
    print(
        f"\nMixed load: {users} users, {seconds} s after {warmup} s of warm-up, gunicorn 2 "
        f"workers; load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}"
    )
    print(
        f"{total / elapsed:.0f} requests/s ({total:,} requests, "
        f"{100 * writes / max(total, 1):.0f}% writes); errors: {error_count}; "
        f"deadlocks: {after - before}"
    )
    print("| request | share | count | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in KINDS:
        answers = results.get(kind.name, [])
        if not answers:
            continue
        latencies = [ms for ms, _ in answers]
        wrong = ", ".join(f"{n} x {s}" for s, n in sorted(errors[kind.name].items())) or "0"
        print(
            f"| {kind.name}{' (write)' if kind.write else ''} | {kind.weight}% | {len(answers):,} "
            f"| {statistics.median(latencies):.1f} | {percentile(latencies, 0.99):.1f} | {wrong} |"
        )
    return error_count == 0 and after == before


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="conduit_bench_50000")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--port", type=int, default=8830)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    ok = mixed(url, args.port, args.redis_url, args.seconds, args.warmup, args.users)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
