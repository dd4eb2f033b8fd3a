"""Where a worker's memory goes: the resident set (VmRSS) of one process as it imports what a
gunicorn worker imports, step by step, then answers reads in-process.

    .venv/bin/python bench/memory.py --database conduit_bench_50000

Run it with the interpreter of a virtualenv that has only requirements.txt installed to see what
production loads (the development one adds test tools, some of which the schema machinery
imports when they are there):

    python3 -m venv /tmp/conduit-production
    /tmp/conduit-production/bin/pip install -r requirements.txt
    /tmp/conduit-production/bin/python bench/memory.py

Each step's figure is what it added on top of the steps before it (a library that an earlier
step already imported is counted there).
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+)", status)
    return int(match.group(1)) / 1024 if match else 0.0


def imports(*names: str) -> Callable[[], None]:
    def load() -> None:
        for name in names:
            importlib.import_module(name)

    return load


def setup() -> None:
    import django

    django.setup()


def urlconf() -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view)


def ignore_start(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], object]:
    return lambda data: None


def reads() -> None:
    """Answers 200 anonymous reads (two kinds of page and the tags) in-process."""
    from api_project.wsgi import application

    paths = ["/api/articles?limit=20", "/api/tags", "/api/articles?limit=20&offset=20"]
    for number in range(200):
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": paths[number % len(paths)].partition("?")[0],
            "QUERY_STRING": paths[number % len(paths)].partition("?")[2],
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        b"".join(application(environ, ignore_start))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="conduit_bench_50000")
    args = parser.parse_args()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "api_project.settings",
            "SECRET_KEY": "memory-measurement-" + "k" * 50,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
            "LOG_LEVEL": "ERROR",
        }
    )
    steps: list[tuple[str, Callable[[], None]]] = [
        ("Django's settings, with asgiref (asyncio, ssl)", imports("django.conf")),
        ("the ORM", imports("django.db.models")),
        ("psycopg (binary)", imports("psycopg")),
        ("Django REST framework's fields and requests", imports("rest_framework.fields")),
        ("PyJWT, orjson", imports("jwt", "orjson")),
        ("Markdown: markdown-it-py, linkify-it-py, nh3", imports("markdown_it", "nh3")),
        ("django.setup(): every installed app, the admin and drf-spectacular", setup),
        ("the URLconf: views, serializers, the docs", urlconf),
        ("200 reads answered in-process", reads),
    ]
    start = previous = rss_mb()
    print(f"{'Python itself':60} {start:6.1f} MB")
    for name, step in steps:
        step()
        now = rss_mb()
        print(f"{name:60} {now - previous:+6.1f} MB  = {now:6.1f} MB")
        previous = now
    print(f"\n{sys.executable}: {len(sys.modules)} modules, {previous:.1f} MB")


if __name__ == "__main__":
    main()
