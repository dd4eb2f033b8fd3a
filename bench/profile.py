"""Profiles: where a gunicorn worker's time goes under load, per benchmarked endpoint, sampled
with py-spy and summed up as shares of a request.

    .venv/bin/python bench/profile.py                        # every endpoint of bench/run.py
    .venv/bin/python bench/profile.py list_signed_in create  # some of them
    .venv/bin/python bench/profile.py article --env LOG_LEVEL=WARNING   # with a setting changed

The database is one bench/run.py loaded (conduit_bench_50000 by default: run bench/run.py once
first). The server is the production one (gunicorn.conf.py, production settings, Redis), with one
worker so that one process holds every request; wrk keeps it busy on loopback while py-spy
samples it, idle moments included, so time spent waiting for PostgreSQL counts as database
time. py-spy attaches with ptrace: run it as root (or with CAP_SYS_PTRACE).

Each sample is put in the first category that a frame matches, from the innermost frame out:
a sample inside psycopg is database time whoever called it. Samples of the worker waiting for
the next connection are not part of any request and are left out of the shares. The raw stacks
are kept in bench/results/profiles/ (collapsed format: flamegraph.pl or speedscope read them).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# After the path is set: the script runs as bench/profile.py, outside any package.
from bench.run import (
    BIN,
    ROOT,
    Endpoint,
    benchmarked,
    fixtures,
    start,
    wrk,
    wrk_script,
)

IDLE = "waiting for a connection"
OTHER = "other"


@dataclass(frozen=True)
class Rule:
    category: str
    path: str
    function: str = ""

    def matches(self, path: str, function: str) -> bool:
        return re.search(self.path, path) is not None and (
            not self.function or re.search(self.function, function) is not None
        )


# Paths relative to site-packages, the standard library or the repository. The first rule that
# matches a frame decides; rules naming a function come before those of its whole file.
RULES = [
    Rule(IDLE, r"^gunicorn/workers/sync\.py$", r"^SyncWorker\.wait$"),
    Rule("request ids and JSON logs", r"^resources/middleware\.py$", r"^RequestLogMiddleware\."),
    Rule("rate limits", r"^rest_framework/views\.py$", r"\.check_throttles$"),
    Rule(
        "authentication",
        r"^rest_framework/(request|views)\.py$",
        r"^Request\.(_authenticate|user)$|\.perform_authentication$",
    ),
    Rule(
        "database",
        r"^psycopg(_binary|_pool)?/|^django/db/backends/|^django/db/(utils|transaction|__init__)\.py$"
        r"|^resources/compiled_sql\.py$",
    ),
    Rule("request ids and JSON logs", r"^resources/json_logging\.py$|^logging/|^uuid\.py$"),
    Rule("metrics", r"^resources/metrics\.py$|^prometheus_client/"),
    Rule(
        "rate limits",
        r"^resources/throttling\.py$|^rest_framework/throttling\.py$|^django_redis/|^redis/"
        r"|^django/core/cache/",
    ),
    Rule(
        "authentication",
        r"^resources/authentication\.py$|^jwt/|^rest_framework/authentication\.py$"
        r"|^django/utils/crypto\.py$|^hmac\.py$",
    ),
    Rule("Markdown rendering", r"^resources/markdown\.py$|^markdown_it/|^linkify_it/|^nh3/"),
    Rule(
        "serializers (validation and response)",
        r"^serializers_templates/|^rest_framework/(serializers|fields|relations)\.py$"
        r"|^rest_framework/utils/serializer_helpers\.py$|^resources/rows\.py$",
    ),
    Rule(
        "view, querysets and services (ORM)",
        r"^resources/(views|listing|querysets|services|models|pagination|permissions|expressions"
        r"|search)\.py$|^django/db/models/|^rest_framework/(viewsets|generics|mixins|permissions"
        r"|pagination)\.py$|^anyascii/|^django/utils/text\.py$",
    ),
    Rule("URL routing", r"^django/urls/"),
    Rule(
        "DRF request and response",
        r"^rest_framework/|^resources/(renderers|parsers|exceptions)\.py$",
    ),
    Rule(
        "middleware (Django's and others)",
        r"^django/middleware/|^django/contrib/(sessions|messages|auth/middleware)|^corsheaders/"
        r"|^whitenoise/|^resources/middleware\.py$",
    ),
    Rule(
        "Django request handling",
        r"^django/core/handlers/|^django/http/|^django/core/signals\.py$|^django/dispatch/",
    ),
    Rule("gunicorn: HTTP parsing and socket I/O", r"^gunicorn/|^socket\.py$|^selectors\.py$"),
]
CATEGORIES = list(dict.fromkeys(rule.category for rule in RULES if rule.category != IDLE))

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*):\d+\)$")
_PREFIXES = [
    re.compile(r"^.*/site-packages/"),
    re.compile(r"^.*/lib/python3\.\d+/"),
    re.compile("^" + re.escape(str(ROOT)) + "/"),
]


def relative(path: str) -> str:
    for prefix in _PREFIXES:
        shorter = prefix.sub("", path, count=1)
        if shorter != path:
            return shorter
    return path


def categorize(stack: str) -> str:
    """The category of one sampled stack (frames root first, `;`-separated)."""
    for frame in reversed(stack.split(";")):
        match = _FRAME.match(frame)
        if match is None:
            continue
        path, function = relative(match["path"]), match["function"]
        for rule in RULES:
            if rule.matches(path, function):
                return rule.category
    return OTHER


def tally(raw: str) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Samples per category, and per innermost frame of busy samples (the hot spots)."""
    categories: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        category = categorize(stack)
        categories[category] += int(count)
        if category != IDLE:
            match = _FRAME.match(stack.split(";")[-1])
            leaf = f"{match['function']} ({relative(match['path'])})" if match else stack[-80:]
            leaves[leaf] += int(count)
    return categories, leaves


def worker_pid(server: subprocess.Popen) -> int:
    for _ in range(50):
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    sys.exit("gunicorn started no worker")


def profile(
    endpoint: Endpoint, script: Path, url: str, args: argparse.Namespace, output: Path
) -> tuple[float, collections.Counter[str], collections.Counter[str]]:
    extra = {
        "WEB_CONCURRENCY": "1",
        "REDIS_URL": args.redis_url,
        # As in bench/run.py: the shared response cache off.
        "RESPONSE_CACHE": "false",
        "RATE_LIMIT_ARTICLE_WRITE": "off",
        "RATE_LIMIT_WRITE": "off",
        **dict(setting.split("=", 1) for setting in args.env),
    }
    base = f"http://127.0.0.1:{args.port}"
    server = start("Conduit API", "api_project.wsgi:application", url, args.port, extra)
    try:
        pid = worker_pid(server)
        wrk(base, endpoint, script, args.warmup, args.connections)
        measured: dict[str, float] = {}

        def load() -> None:
            # A second longer than the recording, so the load covers all of it.
            measured["rps"] = wrk(base, endpoint, script, args.seconds + 1, args.connections)[0]

        driver = threading.Thread(target=load)
        driver.start()
        time.sleep(0.5)
        subprocess.run(
            [
                BIN / "py-spy",
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(args.seconds),
                "--rate",
                str(args.rate),
                "--format",
                "raw",
                "--idle",
                "--full-filenames",
                "--output",
                output,
            ],
            check=True,
            capture_output=True,
        )
        driver.join()
    finally:
        server.terminate()
        server.wait()
    categories, leaves = tally(output.read_text())
    return measured["rps"], categories, leaves


def report(
    endpoint: Endpoint,
    rps: float,
    categories: collections.Counter[str],
    leaves: collections.Counter[str],
    args: argparse.Namespace,
) -> dict[str, float]:
    busy = sum(n for category, n in categories.items() if category != IDLE)
    total = busy + categories[IDLE]
    # Busy seconds per request: the busy share of the recording over the requests in it.
    ms_per_request = 1000 * (busy / total) / rps if total and rps else 0.0
    print(
        f"\n{endpoint.name}: {rps:.0f} req/s on 1 worker, {busy} busy samples "
        f"({100 * busy / max(total, 1):.0f}% of the recording), "
        f"{ms_per_request:.2f} ms of the worker per request"
    )
    shares = {}
    for category in [*CATEGORIES, OTHER]:
        share = 100 * categories[category] / busy if busy else 0.0
        shares[category] = share
        if categories[category]:
            print(f"  {share:5.1f}%  {share * ms_per_request / 100:6.2f} ms  {category}")
    print("  hot spots (innermost frames):")
    for leaf, n in leaves.most_common(args.top):
        print(f"  {100 * n / busy:5.1f}%  {leaf}")
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("endpoints", nargs="*", help="names from bench/run.py (default: all)")
    parser.add_argument("--database", default="conduit_bench_50000")
    parser.add_argument("--seconds", type=int, default=10, help="length of each recording")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--port", type=int, default=8820)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)"
    )
    parser.add_argument("--top", type=int, default=8, help="hot spots shown per endpoint")
    args = parser.parse_args()

    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    given = fixtures(url)
    endpoints = benchmarked(given)
    if args.endpoints:
        unknown = set(args.endpoints) - {e.name for e in endpoints}
        if unknown:
            sys.exit(f"unknown endpoints: {sorted(unknown)}")
        endpoints = [e for e in endpoints if e.name in args.endpoints]
    directory = ROOT / "bench" / "results" / "profiles"
    directory.mkdir(parents=True, exist_ok=True)
    print(
        f"Load average before: {' '.join(f'{n:.2f}' for n in os.getloadavg())}; "
        f"{os.cpu_count()} cores; database {args.database}; wrk {args.connections} connections, "
        f"{args.seconds} s sampled at {args.rate} Hz per endpoint"
    )
    table = {}
    with tempfile.TemporaryDirectory() as scratch:
        for endpoint in endpoints:
            script = wrk_script(endpoint, given["token"], given["tags"], Path(scratch))
            output = directory / f"{endpoint.name}.txt"
            rps, categories, leaves = profile(endpoint, script, url, args, output)
            table[endpoint.name] = report(endpoint, rps, categories, leaves, args)
    print(f"\nLoad average after: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    names = list(table)
    print("\n| where the time goes | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for category in [*CATEGORIES, OTHER]:
        if any(table[name][category] >= 0.05 for name in names):
            cells = " | ".join(f"{table[name][category]:.1f}%" for name in names)
            print(f"| {category} | {cells} |")


if __name__ == "__main__":
    main()
