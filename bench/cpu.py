"""CPU time per request, ours against the comparator, answered in-process (no HTTP, no wrk):
the framework's own work, little exposed to what else the machine runs.

    .venv/bin/python bench/cpu.py --database conduit_bench_50000

For each app (one process each) and endpoint it answers `--requests` requests through the WSGI
application in 8 batches and prints the CPU time of the process per request: the fastest batch
(least disturbed) and the median one. Time spent waiting for PostgreSQL is not CPU time of this
process and is left out. `create` writes articles: use a database made for benchmarks.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# After the path is set: the script runs as bench/cpu.py, outside any package.
from bench.run import BIN, ROOT, SECRET_KEY, fixtures

ENDPOINTS = {
    "list_anonymous": ("GET", "/api/articles?limit=20", False),
    "list_signed_in": ("GET", "/api/articles?limit=20", True),
    "article": ("GET", "/api/articles/{slug}", False),
    "create": ("POST", "/api/articles", True),
}
BATCHES = 8


def measure(endpoints: list[str], requests: int, token: str, slug: str) -> None:
    """In the process of one app: prints a JSON line of {endpoint: (fastest, median) ms}."""
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        if status[:3] not in ("200", "201"):
            raise RuntimeError(status)
        return lambda data: None

    def answer(method: str, path: str, signed_in: bool, number: int) -> None:
        body = b""
        if method == "POST":
            title = f"CPU {time.time_ns()} {number}"
            article = {"title": title, "description": "d", "body": "b", "tagList": ["a", "b"]}
            body = json.dumps({"article": article}).encode()
        path, _, query = path.format(slug=slug).partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        if signed_in:
            environ["HTTP_AUTHORIZATION"] = f"Token {token}"
        b"".join(application(environ, start_response))

    found = {}
    for name in endpoints:
        method, path, signed_in = ENDPOINTS[name]
        for number in range(30):
            answer(method, path, signed_in, number)
        batches = []
        for _ in range(BATCHES):
            began = time.process_time()
            for number in range(requests // BATCHES):
                answer(method, path, signed_in, number)
            batches.append(1000 * (time.process_time() - began) / (requests // BATCHES))
        batches.sort()
        found[name] = (batches[0], batches[BATCHES // 2])
    print(json.dumps(found))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="conduit_bench_50000")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    endpoints = args.endpoints.split(",")
    if args.measure:
        token, slug = json.loads(args.measure)
        measure(endpoints, args.requests, token, slug)
        return

    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    given = fixtures(url)
    results = {}
    for app, settings in (
        ("ours", "api_project.settings"),
        ("comparator", "bench.comparator.settings"),
    ):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "SECRET_KEY": SECRET_KEY,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": url,
            # As bench/run.py serves it: write limits and the shared response cache off.
            "RATE_LIMIT_ARTICLE_WRITE": "off",
            "RATE_LIMIT_WRITE": "off",
            "RESPONSE_CACHE": "false",
            "LOG_LEVEL": "WARNING",
        }
        out = subprocess.run(
            [
                BIN / "python",
                __file__,
                "--endpoints",
                args.endpoints,
                "--requests",
                str(args.requests),
                "--measure",
                json.dumps([given["token"], given["slug"]]),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results[app] = json.loads(out.strip().splitlines()[-1])
    print(
        f"CPU ms per request, fastest / median of {BATCHES} batches; load average "
        f"{' '.join(f'{n:.2f}' for n in os.getloadavg())}"
    )
    print("| endpoint | ours | comparator | comparator / ours |")
    print("|---|---:|---:|---:|")
    for name in endpoints:
        (ours, ours_median), (theirs, their_median) = (
            results["ours"][name],
            results["comparator"][name],
        )
        print(
            f"| {name} | {ours:.2f} / {ours_median:.2f} | {theirs:.2f} / {their_median:.2f} "
            f"| {100 * theirs / ours:.0f}% |"
        )


if __name__ == "__main__":
    main()
