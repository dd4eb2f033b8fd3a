"""What each kept feature costs: the production server against the same server with one feature
switched off (bench/feature_settings.py) or on, and the comparator, in one alternating run.

    .venv/bin/python bench/features.py                              # conduit_bench_50000
    .venv/bin/python bench/features.py --endpoints article,create --rounds 5

Every variant is served at once (gunicorn, 2 workers each, production settings otherwise), and
wrk drives them one after another, endpoint by endpoint, in an order that alternates between
rounds; the table shows medians. A feature's cost is the throughput gained without it, as a
share of the production server's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# After the path is set: the script runs as bench/features.py, outside any package.
from bench.run import benchmarked, fixtures, start, wrk, wrk_script

WITHOUT = {"DJANGO_SETTINGS_MODULE": "bench.feature_settings"}
# bench/run.py's server: write limits off, so that its writes are not refused, and the shared
# response cache off.
BENCH_LIMITS = {
    "RATE_LIMIT_ARTICLE_WRITE": "off",
    "RATE_LIMIT_WRITE": "off",
    "RESPONSE_CACHE": "false",
}
VARIANTS: dict[str, dict[str, str]] = {
    "production (as bench/run.py serves it)": BENCH_LIMITS,
    "write limits counted in Redis": {
        "RATE_LIMIT_ARTICLE_WRITE": "1000000/hour",
        "RATE_LIMIT_WRITE": "1000000/hour",
        "RESPONSE_CACHE": "false",
    },
    "with the shared response cache": {**BENCH_LIMITS, "RESPONSE_CACHE": "true"},
    "with Prometheus metrics": {**BENCH_LIMITS, "METRICS_ENABLED": "true"},
    "without the access-log line": {**BENCH_LIMITS, "LOG_LEVEL": "WARNING"},
    "without request ids and access log": {
        **BENCH_LIMITS,
        **WITHOUT,
        "BENCH_WITHOUT": "request_log",
    },
    "without throttles": {**BENCH_LIMITS, **WITHOUT, "BENCH_WITHOUT": "rate_limits"},
    "without the admin's middleware": {
        **BENCH_LIMITS,
        **WITHOUT,
        "BENCH_WITHOUT": "admin_middleware",
    },
    "without all three": {
        **BENCH_LIMITS,
        **WITHOUT,
        "BENCH_WITHOUT": "request_log,rate_limits,admin_middleware",
    },
}
COMPARATOR = "comparator"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="conduit_bench_50000")
    parser.add_argument("--endpoints", default="list_anonymous,list_signed_in,article,create")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8840, help="the first of 10 ports")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()

    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    given = fixtures(url)
    wanted = args.endpoints.split(",")
    endpoints = [e for e in benchmarked(given) if e.name in wanted]
    servers = {}
    try:
        for number, (name, extra) in enumerate(VARIANTS.items()):
            port = args.port + number
            env = {"REDIS_URL": args.redis_url, **extra}
            servers[name] = (start(name, "api_project.wsgi:application", url, port, env), port)
        port = args.port + len(VARIANTS)
        servers[COMPARATOR] = (
            start(COMPARATOR, "bench.comparator.wsgi:application", url, port, {}),
            port,
        )
        rps: dict[tuple[str, str], list[float]] = {}
        with tempfile.TemporaryDirectory() as scratch:
            for round_number in range(args.rounds):
                order = list(servers) if round_number % 2 == 0 else list(servers)[::-1]
                for endpoint in endpoints:
                    script = wrk_script(endpoint, given["token"], given["tags"], Path(scratch))
                    for name in order:
                        base = f"http://127.0.0.1:{servers[name][1]}"
                        wrk(base, endpoint, script, args.warmup, args.connections)
                        measured = wrk(base, endpoint, script, args.duration, args.connections)[0]
                        rps.setdefault((endpoint.name, name), []).append(measured)
                        print(
                            f"  round {round_number + 1} {endpoint.name:15} {measured:8.1f} {name}"
                        )
    finally:
        # All at once: each drains for GUNICORN_DRAIN_SECONDS before it stops.
        for server, _ in servers.values():
            server.terminate()
        for server, _ in servers.values():
            server.wait()

    names = [e.name for e in endpoints]
    print("\nrequests/s (median), and the change against production in brackets:")
    print("| server | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    production = next(iter(VARIANTS))
    for name in servers:
        cells = []
        for endpoint_name in names:
            value = statistics.median(rps[(endpoint_name, name)])
            reference = statistics.median(rps[(endpoint_name, production)])
            gained = 100 * (value - reference) / reference
            change = "" if name == production else f" ({gained:+.0f}%)"
            cells.append(f"{value:.0f}{change}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
