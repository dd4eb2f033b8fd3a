"""The benchmark: Conduit API against the hand-written limit comparator (bench/comparator/), on
the same PostgreSQL data, each served by gunicorn with 2 workers, driven by wrk on loopback.

    .venv/bin/python bench/run.py                   # 50,000 articles (loads them the first time)
    .venv/bin/python bench/run.py --articles 50000,1000000 --endpoints list_anonymous,search

Needs PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) running, and wrk
(apt-get install wrk). Prints one table per size: requests/s, p50 and p99 latency, SQL statements
per request, worker memory, and our throughput as a percentage of the comparator's; with several
sizes, a table of the lists' and search's p50 at each. Data sets are loaded by bench/load.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET_KEY = "benchmark-secret-key-" + "k" * 50

# Targets: our throughput as a share of the comparator's, per endpoint.
TARGETS = {
    "list_anonymous": 95,
    "list_signed_in": 90,
    "tag_filter": 55,
    "feed": 55,
    "article": 90,
    "create": 75,
    "tags": 50,
    "search": 60,
}
MEMORY_TARGET_MB = 55


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    signed_in: bool = False


@dataclass
class Measure:
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)


def run(*command: str | Path, env: dict | None = None, check: bool = True) -> str:
    result = subprocess.run(
        [str(c) for c in command],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def psql(database: str, sql: str) -> str:
    return run(
        "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-At", "-c", sql
    ).strip()


def prepare_database(args: argparse.Namespace) -> str:
    name = args.database or f"conduit_bench_{args.articles}"
    exists = psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if not exists:
        run("createdb", "-h", "127.0.0.1", "-U", "postgres", name)
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    env = {"DATABASE_URL": url}
    run(BIN / "python", "manage.py", "migrate", "--no-input", "-v0", env=env)
    if args.skip_load:
        return url
    start = time.perf_counter()
    print(f"Loading {args.articles:,} articles into {name} (bench/load.py) ...", flush=True)
    out = run(
        BIN / "python",
        "bench/load.py",
        "--users",
        str(args.users),
        "--articles",
        str(args.articles),
        "--tags",
        str(args.tags),
        "--favorites",
        str(args.favorites),
        "--follows",
        str(args.follows),
        "--comments",
        str(args.articles // 2),
        env=env,
    )
    print(textwrap.indent(out.strip(), "  "))
    if "Already loaded" not in out:
        print(f"  loaded and vacuumed in {time.perf_counter() - start:.0f} s", flush=True)
    return url


def fixtures(url: str) -> dict[str, Any]:
    """A reader with a typical number of follows, a mid-popular tag, an article: the
    endpoints' arguments. The token is made by the app's own code."""
    script = textwrap.dedent("""
        import json
        from django.db.models import Count
        from resources.authentication import token_issue
        from resources.models import Article, Tag, User
        readers = User.objects.annotate(n=Count("followees")).filter(n__gte=15)
        reader = readers.order_by("pk").first()
        tag = Tag.objects.order_by("-articles_count", "name")[10]
        article = Article.objects.filter(status="published").order_by("-published_at")[100]
        names = list(Tag.objects.order_by("pk").values_list("name", flat=True)[:60])
        print(json.dumps({"token": token_issue(user=reader), "tag": tag.name,
                          "slug": article.slug, "tags": names}))
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
    return json.loads(out.strip().splitlines()[-1])


def start(name: str, app: str, url: str, port: int, extra: dict[str, str]) -> subprocess.Popen:
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": url,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_MAX_REQUESTS": "0",
        **extra,
    }
    server = subprocess.Popen(
        [BIN / "gunicorn", "--config", "gunicorn.conf.py", app],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tags", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{name} did not start")


def wrk_script(endpoint: Endpoint, token: str, tags: list[str], directory: Path) -> Path:
    headers = ['wrk.headers["Content-Type"] = "application/json"']
    if endpoint.signed_in:
        headers.append(f'wrk.headers["Authorization"] = "Token {token}"')
    body = ""
    if endpoint.method == "POST":
        tag_list = ", ".join(f'"{t}"' for t in tags)
        body = textwrap.dedent(f"""
            local tags = {{{tag_list}}}
            local template = '{{"article": {{"title": "%s", "description": "Measured.", '
                .. '"body": "Numbers, not opinions.", "tagList": ["%s", "%s", "%s"]}}}}'
            -- Titles (hence slugs) unique across threads and runs: run nonce, thread, counter.
            local threads = 0
            function setup(thread)
                threads = threads + 1
                thread:set("id", threads)
            end
            local prefix, count = "", 0
            function init(args)
                prefix = args[1] .. "-" .. id
                math.randomseed(id)
            end
            local function tag() return tags[math.random(#tags)] end
            request = function()
                count = count + 1
                local title = "Benchmark article " .. prefix .. "-" .. count
                local body = string.format(template, title, tag(), tag(), tag())
                return wrk.format("POST", "{endpoint.path}", nil, body)
            end
        """)
    path = directory / f"{endpoint.name}.lua"
    path.write_text("\n".join(headers) + "\n" + body)
    return path


def wrk(
    base: str, endpoint: Endpoint, script: Path, seconds: int, connections: int
) -> tuple[float, float, float]:
    out = run(
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        # Slow answers (a search at 1,000,000 articles on a busy machine) are measured, not
        # dropped at wrk's default of 2 s.
        "--timeout",
        "10s",
        "--latency",
        "-s",
        script,
        base + (endpoint.path if endpoint.method == "GET" else ""),
        "--",
        f"{time.time_ns()}",
    )
    # wrk stops sending, but requests already queued in the server's listen backlog are still
    # answered: let them drain so they do not run alongside the next measurement.
    time.sleep(1)
    rps = float(found(r"Requests/sec:\s+([\d.]+)", out)[0])

    def percentile(label: str) -> float:
        value, unit = found(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{endpoint.name} at {base}: {errors.group(1)} error responses\n{out}")
    return rps, percentile("50"), percentile("99")


def found(pattern: str, text: str) -> tuple[str, ...]:
    match = re.search(pattern, text)
    if match is None:
        sys.exit(f"no {pattern!r} in:\n{text}")
    return match.groups()


def worker_rss_mb(server: subprocess.Popen) -> float:
    pids = run("pgrep", "-P", str(server.pid), check=False).split()
    sizes = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(found(r"VmRSS:\s+(\d+)", status)[0]) / 1024)
    return max(sizes, default=0)


def statements(url: str, endpoints: list[Endpoint], token: str) -> dict[str, dict[str, int]]:
    """SQL statements per request, counted in-process on each app (transaction control left out)."""
    script = textwrap.dedent("""
        import json, re, sys
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        endpoints, token = json.loads(sys.argv[1]), sys.argv[2]
        client, counts = Client(), {}
        for name, method, path, signed_in in endpoints:
            headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if signed_in else {}
            body = ('{"article": {"title": "Counted %d", "description": "d", "body": "b", '
                    '"tagList": ["a", "b", "c"]}}')
            with CaptureQueriesContext(connection) as queries:
                if method == "POST":
                    body = body % id(queries)
                    client.post(path, body, content_type="application/json", **headers)
                else:
                    client.get(path, **headers)
            control = r"\\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)"
            counts[name] = sum(
                1 for q in queries.captured_queries if not re.match(control, q["sql"])
            )
        print(json.dumps(counts))
    """)
    listed = json.dumps([[e.name, e.method, e.path, e.signed_in] for e in endpoints])
    found = {}
    for app, settings in (
        ("ours", "api_project.settings"),
        ("comparator", "bench.comparator.settings"),
    ):
        out = run(
            BIN / "python",
            "-c",
            f"import django; django.setup(); exec({script!r})",
            listed,
            token,
            env={
                "DJANGO_SETTINGS_MODULE": settings,
                "DATABASE_URL": url,
                "SECRET_KEY": SECRET_KEY,
                "DEBUG": "false",
                "ALLOWED_HOSTS": "testserver",
                "RATE_LIMIT_ARTICLE_WRITE": "off",
                "RESPONSE_CACHE": "false",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT),
            },
        )
        found[app] = json.loads(out.strip().splitlines()[-1])
    return found


def same_bytes(ours: str, theirs: str, endpoints: list[Endpoint], token: str) -> list[str]:
    different = []
    for endpoint in endpoints:
        if endpoint.method != "GET":
            continue
        answers = []
        for base in (ours, theirs):
            request = urllib.request.Request(base + endpoint.path)
            if endpoint.signed_in:
                request.add_header("Authorization", f"Token {token}")
            answers.append(urllib.request.urlopen(request).read())
        if answers[0] != answers[1]:
            different.append(endpoint.name)
    return different


# Lists and search should answer as fast at 1,000,000 articles as at 50,000: p50 at the larger
# size within this factor of p50 at the smaller one.
FLAT_WITH_SIZE = 1.5
FLAT_ENDPOINTS = ("list_anonymous", "list_signed_in", "tag_filter", "feed", "deep_page", "search")


def benchmarked(given: dict[str, Any]) -> list[Endpoint]:
    """The endpoints measured, with the arguments `fixtures()` chose (bench/profile.py profiles
    the same ones)."""
    return [
        Endpoint("list_anonymous", "GET", "/api/articles?limit=20"),
        Endpoint("list_signed_in", "GET", "/api/articles?limit=20", signed_in=True),
        Endpoint("tag_filter", "GET", f"/api/articles?tag={given['tag']}&limit=20"),
        Endpoint("feed", "GET", "/api/articles/feed?limit=20", signed_in=True),
        Endpoint("deep_page", "GET", "/api/articles?limit=20&offset=10000"),
        # A few hundred matches at 50,000 articles, most of them in titles; "that" is a stop word.
        Endpoint("search", "GET", "/api/articles?search=kubernetes+patterns+that+scale&limit=20"),
        Endpoint("article", "GET", f"/api/articles/{given['slug']}"),
        Endpoint("tags", "GET", "/api/tags"),
        Endpoint("create", "POST", "/api/articles", signed_in=True),
    ]


@dataclass
class Run:
    articles: int
    endpoints: list[Endpoint]
    results: dict[tuple[str, str], Measure]


def load_average() -> str:
    return " / ".join(f"{n:.1f}" for n in os.getloadavg())


def measure(args: argparse.Namespace) -> Run:
    """Loads (if needed) and benchmarks one data set; prints its table."""
    url = prepare_database(args)
    if args.mixed:
        sys.path.insert(0, str(ROOT))
        from bench.mixed import mixed

        ok = mixed(url, args.port, args.redis_url, 4 * args.duration, args.warmup, users=50)
        sys.exit(0 if ok else 1)
    given = fixtures(url)
    token = given["token"]
    endpoints = benchmarked(given)
    if args.endpoints:
        wanted = set(args.endpoints.split(","))
        endpoints = [e for e in endpoints if e.name in wanted]

    counts = statements(url, endpoints, token)
    ours_env = {
        "REDIS_URL": args.redis_url,
        # The HTTP response cache is measured on its own (bench/http_cache.py): here every
        # request does its work, as the comparator's do.
        "RESPONSE_CACHE": "false",
        "RATE_LIMIT_ARTICLE_WRITE": "off",
        "RATE_LIMIT_WRITE": "off",
    }
    servers = {
        "ours": (
            start("Conduit API", "api_project.wsgi:application", url, args.port, ours_env),
            f"http://127.0.0.1:{args.port}",
        ),
        "comparator": (
            start("comparator", "bench.comparator.wsgi:application", url, args.port + 1, {}),
            f"http://127.0.0.1:{args.port + 1}",
        ),
    }
    results = {(e.name, s): Measure() for e in endpoints for s in servers}
    load_before = load_average()
    try:
        different = same_bytes(servers["ours"][1], servers["comparator"][1], endpoints, token)
        print(
            "Responses byte for byte the same: "
            + ("yes" if not different else f"NO, differ: {different}")
        )
        with tempfile.TemporaryDirectory() as scratch:
            scripts = {
                e.name: wrk_script(e, token, given["tags"], Path(scratch)) for e in endpoints
            }
            for round_number in range(args.rounds):
                order = list(servers) if round_number % 2 == 0 else list(servers)[::-1]
                for endpoint in endpoints:
                    for name in order:
                        base = servers[name][1]
                        wrk(base, endpoint, scripts[endpoint.name], args.warmup, args.connections)
                        rps, p50, p99 = wrk(
                            base, endpoint, scripts[endpoint.name], args.duration, args.connections
                        )
                        measure = results[(endpoint.name, name)]
                        measure.rps.append(rps)
                        measure.p50.append(p50)
                        measure.p99.append(p99)
                        label = f"round {round_number + 1} {endpoint.name:15} {name:10}"
                        print(f"  {label} {rps:8.1f} req/s", flush=True)
        memory = {name: worker_rss_mb(server) for name, (server, _) in servers.items()}
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait()

    print()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {python}; "
        f"{args.articles:,} articles; wrk {args.connections} connections, "
        f"{args.duration} s x {args.rounds} rounds (medians); gunicorn 2 workers each; "
        f"load average (1 / 5 / 15 min) {load_before} before, {load_average()} after"
    )
    header = (
        "| endpoint | ours req/s | comparator req/s | ours % | target | ours p50 / p99 ms "
        "| comparator p50 / p99 ms | SQL ours / comparator |"
    )
    print(header)
    print("|" + "---|" * 8)
    for endpoint in endpoints:
        ours, theirs = results[(endpoint.name, "ours")], results[(endpoint.name, "comparator")]
        # A server that answered nothing within wrk's timeout has no share to compare with.
        share = 100 * statistics.median(ours.rps) / (statistics.median(theirs.rps) or float("nan"))
        target = TARGETS.get(endpoint.name)
        verdict = f">= {target}% {'met' if share >= target else 'MISSED'}" if target else ""
        ours_latency = f"{statistics.median(ours.p50):.1f} / {statistics.median(ours.p99):.1f}"
        their_latency = f"{statistics.median(theirs.p50):.1f} / {statistics.median(theirs.p99):.1f}"
        statements_used = f"{counts['ours'][endpoint.name]} / {counts['comparator'][endpoint.name]}"
        print(
            f"| {endpoint.name} | {statistics.median(ours.rps):.0f} "
            f"| {statistics.median(theirs.rps):.0f} | {share:.0f}% | {verdict} "
            f"| {ours_latency} | {their_latency} | {statements_used} |"
        )
    print(
        f"\nWorker memory (RSS, largest worker): ours {memory['ours']:.0f} MB "
        f"(target <= {MEMORY_TARGET_MB} MB), comparator {memory['comparator']:.0f} MB\n",
        flush=True,
    )
    return Run(args.articles, endpoints, results)


def flat_with_size(small: Run, large: Run) -> None:
    """p50 of the lists and search at the larger size against the smaller one."""
    print(
        f"p50 at {large.articles:,} articles against {small.articles:,} "
        f"(target: within {FLAT_WITH_SIZE}x)"
    )
    print(
        f"| endpoint | ours p50 ms at {small.articles:,} | at {large.articles:,} | ours ratio "
        "| target | comparator p50 ms | comparator ratio |"
    )
    print("|" + "---|" * 7)
    names = [e.name for e in small.endpoints if e.name in FLAT_ENDPOINTS]
    for name in names:
        if (name, "ours") not in large.results:
            continue
        ours_small, ours_large, their_small, their_large = (
            statistics.median(run.results[(name, server)].p50)
            for server in ("ours", "comparator")
            for run in (small, large)
        )
        # A p50 of 0 is no answer at all within wrk's timeout, not an instant one.
        ours_ratio = (ours_large or float("inf")) / (ours_small or float("nan"))
        their_ratio = (their_large or float("inf")) / (their_small or float("nan"))
        verdict = "met" if ours_ratio <= FLAT_WITH_SIZE else "MISSED"
        print(
            f"| {name} | {ours_small:.1f} | {ours_large:.1f} | {ours_ratio:.2f}x"
            f" | {verdict} | {their_small:.1f} / {their_large:.1f} | {their_ratio:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--articles",
        default="50000",
        help="articles to load; several sizes, comma-separated (50000,1000000), are benchmarked "
        "one after the other and their lists' p50 compared",
    )
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--tags", type=int, default=500)
    parser.add_argument("--favorites", type=int, default=None, help="default: 4 per article")
    parser.add_argument("--follows", type=int, default=20_000)
    parser.add_argument(
        "--database", help="database name (default conduit_bench_<articles>); one per size"
    )
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--endpoints", default="", help="comma-separated subset")
    parser.add_argument(
        "--port", type=int, default=8810, help="ours on this port, the comparator on the next"
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/12", help="our rate limits' Redis"
    )
    parser.add_argument(
        "--skip-load", action="store_true", help="use the database as it is (already loaded)"
    )
    parser.add_argument(
        "--mixed",
        action="store_true",
        help="run the mixed load of bench/mixed.py (50 users, 80%% reads, 20%% writes) instead",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.articles.split(",")]
    databases = args.database.split(",") if args.database else [None] * len(sizes)
    if len(databases) != len(sizes):
        parser.error("--database names one database per size in --articles")
    runs = []
    for size, database in zip(sizes, databases, strict=True):
        one = argparse.Namespace(**vars(args))
        one.articles, one.database = size, database
        one.favorites = args.favorites if args.favorites is not None else 4 * size
        runs.append(measure(one))
    for larger in runs[1:]:
        flat_with_size(runs[0], larger)


if __name__ == "__main__":
    main()
