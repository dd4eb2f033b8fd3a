"""Exact freshness of the shared response cache across processes: two app servers on one
PostgreSQL and one Redis, writers and anonymous readers in tight loops, 10,000 reads, and not one
answer older than a write acknowledged before the read began."""

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

import pytest
import redis as redis_client
from django.db import connection

from tests.tools import database_url, gunicorn

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="app servers share PostgreSQL and Redis"
    ),
]

READS = 10_000
READERS = 4
# Writers pause this long between writes, so that some reads find an entry to be served from
# (every write makes every entry stale); a safety net stops the loops after DEADLINE_SECONDS.
WRITE_PAUSE_SECONDS = 0.02
DEADLINE_SECONDS = 900


def call(
    url: str,
    method: str = "GET",
    body: dict | None = None,
    token: str | None = None,
    etag: str | None = None,
) -> tuple[int, dict | None, str | None]:
    """Status, JSON body and ETag of an answer (a 304 has no body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, method=method, data=data)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    if etag:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null"), response.headers["ETag"]
    except urllib.error.HTTPError as error:
        if error.code != 304:
            raise
        return 304, None, error.headers["ETag"]


@dataclass
class Acknowledged:
    """The latest write each writer saw acknowledged, by resource."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    versions: dict[str, int] = field(default_factory=dict)

    def set(self, name: str, version: int) -> None:
        with self.lock:
            self.versions[name] = version

    def get(self, name: str) -> int:
        with self.lock:
            return self.versions.get(name, 0)


def test_no_anonymous_read_is_older_than_an_acknowledged_write(redis):
    env = {
        "DATABASE_URL": database_url(),
        **redis.server_env(),
        "RESPONSE_CACHE": "on",
        **{
            f"RATE_LIMIT_{scope}": "off"
            for scope in ("WRITE", "ARTICLE_WRITE", "COMMENT_WRITE", "REGISTRATION_IP")
        },
    }
    with gunicorn(env) as one, gunicorn(env) as two:
        servers = [one.url, two.url]
        _, registered, _ = call(
            f"{one.url}/api/users",
            "POST",
            {"user": {"username": "writer", "email": "w@example.com", "password": "password1"}},
        )
        assert registered is not None
        token = registered["user"]["token"]
        _, created, _ = call(
            f"{two.url}/api/articles",
            "POST",
            {"article": {"title": "Fresh", "description": "0", "body": "b"}},
            token,
        )
        assert created is not None
        slug = created["article"]["slug"]

        acknowledged = Acknowledged()
        # Each resource's version as a read finds it in the answer's body.
        reads = {
            "article": (f"/api/articles/{slug}", lambda b: int(b["article"]["description"])),
            "list": ("/api/articles?author=writer", lambda b: int(b["articles"][0]["description"])),
            "comments": (f"/api/articles/{slug}/comments", lambda b: len(b["comments"])),
            "profile": ("/api/profiles/writer", lambda b: int(b["profile"]["bio"] or 0)),
        }
        writes = {
            "article": lambda n: (
                f"/api/articles/{slug}",
                "PUT",
                {"article": {"description": str(n)}},
            ),
            "comments": lambda n: (
                f"/api/articles/{slug}/comments",
                "POST",
                {"comment": {"body": f"Comment {n}"}},
            ),
            "profile": lambda n: ("/api/user", "PUT", {"user": {"bio": str(n)}}),
        }
        done = threading.Event()
        failures: list[str] = []
        counts: Counter[str] = Counter()
        writes_made: Counter[str] = Counter()

        def writer(name: str, index: int) -> None:
            number = 0
            while not done.is_set():
                number += 1
                path, method, body = writes[name](number)
                status, _, _ = call(servers[(number + index) % 2] + path, method, body, token)
                assert status == 200
                # The article's version is also what the list shows.
                for resource in ("article", "list") if name == "article" else (name,):
                    acknowledged.set(resource, number)
                writes_made[name] += 1
                time.sleep(WRITE_PAUSE_SECONDS)

        def reader(index: int) -> None:
            names = list(reads)
            held: dict[str, tuple[str | None, int]] = {}
            n = index
            while not done.is_set():
                n += 1
                name = names[n % len(names)]
                path, version_of = reads[name]
                floor = acknowledged.get(name)
                # Every other read revalidates what the reader holds: a 304 must be current too.
                etag, version = held.get(name, (None, 0)) if n % 2 else (None, 0)
                status, body, new_etag = call(servers[n % 2] + path, etag=etag)
                if status == 304:
                    found = version
                else:
                    assert status == 200
                    found = version_of(body)
                    held[name] = (new_etag, found)
                with acknowledged.lock:
                    counts["reads"] += 1
                    counts[str(status)] += 1
                    if found < floor:
                        failures.append(f"{name}: read {found} after {floor} was acknowledged")
                    if counts["reads"] >= READS or time.monotonic() > deadline:
                        done.set()

        errors: list[BaseException] = []

        def guarded(target):
            def run(*args):
                try:
                    target(*args)
                except BaseException as error:  # noqa: BLE001 - re-raised below
                    errors.append(error)
                    done.set()

            return run

        threads = [
            threading.Thread(target=guarded(writer), args=(w, i)) for i, w in enumerate(writes)
        ]
        threads += [threading.Thread(target=guarded(reader), args=(i,)) for i in range(READERS)]
        start = time.monotonic()
        deadline = start + DEADLINE_SECONDS
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start

        client = redis_client.Redis.from_url(redis.url)
        entries = sum(1 for _ in client.scan_iter(match=f"{redis.prefix}:*response-cache:*"))

    assert not errors, errors
    print(
        f"\n{counts['reads']} anonymous reads in {elapsed:.0f} s over two servers, "
        f"({counts['304']} of them 304), {sum(writes_made.values())} writes "
        f"({dict(writes_made)}), {len(failures)} stale"
    )
    assert counts["reads"] >= READS
    assert all(writes_made[name] > 10 for name in writes), writes_made
    assert entries > 0  # the cache was in use
    assert counts["304"] > 0
    assert failures == []
