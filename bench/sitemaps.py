"""The sitemaps at scale: /sitemap.xml and the pages of its sections, fetched from one gunicorn
worker serving a benchmark database, timed, with the worker's memory before and at its peak.

    .venv/bin/python bench/sitemaps.py --database conduit_bench_1000000
    .venv/bin/python bench/sitemaps.py --database conduit_bench_50000 --port 8200

The database is one bench/run.py loaded (`--articles 1000000` for a million); it is only read.
Needs PostgreSQL at 127.0.0.1:5432 (user postgres). Prints, per request, the median time of a
few fetches, its size and the URLs in it, then the worker's resident memory (VmRSS once started,
VmHWM, its peak, after everything): a page streams its 50,000 rows from a server-side cursor, so
the peak does not grow with the section, nor with the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET_KEY = "benchmark-secret-key-" + "k" * 50


def start(database: str, port: int) -> subprocess.Popen:
    """gunicorn with one sync worker, production settings, the links pointing at itself."""
    env = {
        "PATH": os.environ["PATH"],
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_MAX_REQUESTS": "0",
        "GUNICORN_TIMEOUT": "120",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [BIN / "gunicorn", "--config", "gunicorn.conf.py", "api_project.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    sys.exit("the server did not start")


def worker_memory_mb(server: subprocess.Popen) -> tuple[float, float]:
    """(VmRSS, VmHWM) of the server's worker, in MB."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    [worker] = children
    status = Path(f"/proc/{worker}/status").read_text()
    kilobytes = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB$", status, re.MULTILINE))
    return int(kilobytes["VmRSS"]) / 1024, int(kilobytes["VmHWM"]) / 1024


def fetch(url: str) -> tuple[float, int, int]:
    """(seconds, bytes, <loc> elements) of one GET, read to the end."""
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=300) as response:
        body = response.read()
    return time.perf_counter() - began, len(body), body.count(b"<loc>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="conduit_bench_1000000")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--repeat", type=int, default=3, help="fetches of each page (median)")
    args = parser.parse_args()

    base = f"http://127.0.0.1:{args.port}"
    server = start(args.database, args.port)
    try:
        rss_started, _ = worker_memory_mb(server)
        began = time.perf_counter()
        with urllib.request.urlopen(f"{base}/sitemap.xml", timeout=300) as response:
            index = response.read().decode()
        sections = re.findall(r"<loc>([^<]+)</loc>", index)
        articles = [url for url in sections if "sitemap-articles" in url]
        print(
            f"{args.database}: {len(sections)} sitemap files in the index, "
            f"{len(articles)} of them articles; {platform.machine()}, "
            f"CPython {platform.python_version()}, one gunicorn sync worker"
        )
        print(f"| request | median s (of {args.repeat}) | bytes | URLs |")
        print("|---|---|---|---|")
        chosen = [f"{base}/sitemap.xml", articles[0], articles[len(articles) // 2], articles[-1]]
        chosen += [url for url in sections if "sitemap-profiles" in url][:1]
        for url in chosen:
            runs = [fetch(url.replace("&amp;", "&")) for _ in range(args.repeat)]
            seconds = statistics.median(run[0] for run in runs)
            _, size, urls = runs[0]
            print(f"| {url.removeprefix(base)} | {seconds:.2f} | {size:,} | {urls:,} |")
        whole = time.perf_counter()
        total_urls = sum(fetch(url)[2] for url in articles)
        print(
            f"the whole articles section, {len(articles)} files one after another: "
            f"{total_urls:,} URLs in {time.perf_counter() - whole:.1f} s"
        )
        rss_now, peak = worker_memory_mb(server)
        print(
            f"worker memory: {rss_started:.0f} MB once started, {rss_now:.0f} MB after, "
            f"peak {peak:.0f} MB (VmHWM); everything took {time.perf_counter() - began:.0f} s"
        )
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
