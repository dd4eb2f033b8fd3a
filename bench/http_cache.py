"""The HTTP cache benchmark: anonymous reads from the shared response cache, 304 revalidations,
and a mixed load with and without the cache, against a baseline Django view that answers fixed
bytes (bench/comparator/baseline.py), all in one run on the same PostgreSQL data.

    .venv/bin/python bench/http_cache.py --database conduit_bench_50000 --skip-load

Uses bench/run.py's helpers (the database, the servers, wrk); needs PostgreSQL, Redis and wrk.
Prints two tables: each warm-cache read as a share of the baseline (targets: 50% for the list,
an article and the tags, 70% for a 304), and the mixed load (90% anonymous reads over 200
distinct pages, 10% signed-in writes: favorites, comments, new articles) with the cache on and
off.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import textwrap
import urllib.request
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    Endpoint,
    Measure,
    fixtures,
    prepare_database,
    psql,
    start,
    wrk,
)

# Our throughput as a share of the baseline's, warm cache.
TARGETS = {"list_anonymous": 50, "article": 50, "tags": 50, "revalidate_304": 70}
PAGES = 200
REDIS_URL = "redis://127.0.0.1:6379/4"
CACHE_PREFIX = "conduit-httpcache-bench"
NO_LIMITS = {
    f"RATE_LIMIT_{scope}": "off"
    for scope in ("WRITE", "ARTICLE_WRITE", "COMMENT_WRITE", "FAVORITE", "FOLLOW")
}


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request) as response:
        return response.read(), response.headers.get("ETag", "")


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string for these (ASCII) values


def headers_script(directory: Path, name: str, headers: dict[str, str]) -> Path:
    path = directory / f"{name}.lua"
    path.write_text(
        "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        + "\n"
    )
    return path


def mixed_script(directory: Path, pages: list[str], slugs: list[str], token: str) -> Path:
    """90% anonymous GETs spread evenly over `pages`, 10% signed-in writes: a favorite or an
    unfavorite, a comment, a new article, in turn."""
    listed = ", ".join(lua_string(p) for p in pages)
    slug_list = ", ".join(lua_string(s) for s in slugs)
    body = textwrap.dedent(f"""
        local pages = {{{listed}}}
        local slugs = {{{slug_list}}}
        local token = "Token {token}"
        local threads = 0
        function setup(thread)
            threads = threads + 1
            thread:set("id", threads)
        end
        local prefix, count = "", 0
        function init(args)
            prefix = args[1] .. "-" .. id
            math.randomseed(id * 7919)
        end
        request = function()
            count = count + 1
            if math.random(10) > 1 then
                return wrk.format("GET", pages[math.random(#pages)], {{}}, nil)
            end
            local signed = {{["Authorization"] = token, ["Content-Type"] = "application/json"}}
            local slug = slugs[math.random(#slugs)]
            local kind = count % 3
            if kind == 0 then
                local method = (count % 2 == 0) and "POST" or "DELETE"
                return wrk.format(method, "/api/articles/" .. slug .. "/favorite", signed, nil)
            elseif kind == 1 then
                local body = '{{"comment": {{"body": "Measured ' .. prefix .. count .. '"}}}}'
                return wrk.format("POST", "/api/articles/" .. slug .. "/comments", signed, body)
            end
            local body = '{{"article": {{"title": "Mixed ' .. prefix .. "-" .. count
                .. '", "description": "d", "body": "b", "tagList": ["mixed"]}}}}'
            return wrk.format("POST", "/api/articles", signed, body)
        end
    """)
    path = directory / "mixed.lua"
    path.write_text(body)
    return path


def distinct_pages(given: dict, url: str) -> tuple[list[str], list[str]]:
    """200 distinct anonymous pages: list pages, tag filters, articles and their comments."""
    database = url.rsplit("/", 1)[1]
    slugs = psql(
        database,
        "SELECT slug FROM resources_article WHERE status = 'published' "
        "ORDER BY published_at DESC, id DESC LIMIT 50",
    ).split()
    pages = [f"/api/articles?limit=20&offset={20 * n}" for n in range(50)]
    pages += [f"/api/articles?tag={quote(tag)}&limit=20" for tag in given["tags"][:50]]
    pages += [f"/api/articles/{slug}" for slug in slugs]
    pages += [f"/api/articles/{slug}/comments" for slug in slugs]
    assert len(set(pages)) == PAGES, len(set(pages))
    return pages, slugs


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def clear_cache() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{CACHE_PREFIX}:*", count=1000):
        client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--tags", type=int, default=500)
    parser.add_argument("--favorites", type=int, default=None, help="default: 4 per article")
    parser.add_argument("--follows", type=int, default=20_000)
    parser.add_argument("--database", help="database name (default conduit_bench_<articles>)")
    parser.add_argument("--skip-load", action="store_true", help="use the database as it is")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8300, help="first of three ports")
    args = parser.parse_args()
    args.favorites = args.favorites if args.favorites is not None else 4 * args.articles

    url = prepare_database(args)
    given = fixtures(url)
    token = given["token"]
    pages, slugs = distinct_pages(given, url)
    redis_env = {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": CACHE_PREFIX, **NO_LIMITS}
    clear_cache()
    bases = {
        "cached": f"http://127.0.0.1:{args.port}",
        "uncached": f"http://127.0.0.1:{args.port + 1}",
        "baseline": f"http://127.0.0.1:{args.port + 2}",
    }
    processes = [
        start(
            "Conduit API (cache on)",
            "api_project.wsgi:application",
            url,
            args.port,
            {**redis_env, "RESPONSE_CACHE": "on"},
        ),
        start(
            "Conduit API (cache off)",
            "api_project.wsgi:application",
            url,
            args.port + 1,
            {**redis_env, "RESPONSE_CACHE": "off"},
        ),
    ]
    list_path = "/api/articles?limit=20"
    size = len(fetch(bases["cached"] + list_path)[0])
    processes.append(
        start(
            "baseline",
            "bench.comparator.wsgi:application",
            url,
            args.port + 2,
            {"BASELINE_BYTES": str(size)},
        )
    )
    before = load_average()
    reads = {
        "list_anonymous": list_path,
        "article": f"/api/articles/{given['slug']}",
        "tags": "/api/tags",
        "revalidate_304": list_path,
    }
    results: dict[tuple[str, str], Measure] = {}
    try:
        baseline_body = fetch(bases["baseline"] + "/baseline")[0]
        assert len(baseline_body) == size, (len(baseline_body), size)
        with tempfile.TemporaryDirectory() as scratch:
            directory = Path(scratch)
            plain = headers_script(directory, "plain", {})
            for round_number in range(args.rounds):
                order = ["cached", "baseline"] if round_number % 2 == 0 else ["baseline", "cached"]
                for name, path in reads.items():
                    script = plain
                    if name == "revalidate_304":
                        # The ETag as of now: nothing writes during these runs.
                        etag = fetch(bases["cached"] + path)[1]
                        script = headers_script(directory, "revalidate", {"If-None-Match": etag})
                    for server in order:
                        target = Endpoint(name, "GET", path if server == "cached" else "/baseline")
                        measured = script if server == "cached" else plain
                        wrk(bases[server], target, measured, args.warmup, args.connections)
                        rps, p50, p99 = wrk(
                            bases[server], target, measured, args.duration, args.connections
                        )
                        measure = results.setdefault((name, server), Measure())
                        measure.rps.append(rps)
                        measure.p50.append(p50)
                        measure.p99.append(p99)
                        print(f"  round {round_number + 1} {name:15} {server:9} {rps:8.1f} req/s")
            mixed = mixed_script(directory, pages, slugs, token)
            for round_number in range(args.rounds):
                order = ["cached", "uncached"] if round_number % 2 == 0 else ["uncached", "cached"]
                for server in order:
                    target = Endpoint("mixed", "MIXED", "/")
                    wrk(bases[server], target, mixed, args.warmup, args.connections)
                    rps, p50, p99 = wrk(
                        bases[server], target, mixed, args.duration, args.connections
                    )
                    measure = results.setdefault(("mixed", server), Measure())
                    measure.rps.append(rps)
                    measure.p50.append(p50)
                    measure.p99.append(p99)
                    print(f"  round {round_number + 1} mixed           {server:9} {rps:8.1f} req/s")
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        clear_cache()

    print()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {python}; load average "
        f"{before} before, {load_average()} after; {url.rsplit('/', 1)[1]}; wrk "
        f"{args.connections} connections, {args.duration} s x {args.rounds} rounds (medians); "
        f"gunicorn 2 workers each; baseline body {size:,} bytes"
    )

    def median(measure: Measure) -> tuple[float, str]:
        latency = f"{statistics.median(measure.p50):.1f} / {statistics.median(measure.p99):.1f}"
        return statistics.median(measure.rps), latency

    print(
        "| read (warm cache) | ours req/s | baseline req/s | ours % | target | ours p50 / p99 ms |"
    )
    print("|---|---|---|---|---|---|")
    for name in reads:
        ours, ours_latency = median(results[(name, "cached")])
        theirs, _ = median(results[(name, "baseline")])
        share = 100 * ours / theirs
        verdict = f">= {TARGETS[name]}% {'met' if share >= TARGETS[name] else 'MISSED'}"
        print(f"| {name} | {ours:.0f} | {theirs:.0f} | {share:.0f}% | {verdict} | {ours_latency} |")
    print()
    print("| mixed load (90% anonymous reads over 200 pages, 10% writes) | req/s | p50 / p99 ms |")
    print("|---|---|---|")
    for server, label in (("cached", "cache on"), ("uncached", "cache off")):
        rps, latency = median(results[("mixed", server)])
        print(f"| {label} | {rps:.0f} | {latency} |")


if __name__ == "__main__":
    main()
