"""Helpers for tests that drive tools outside Python (the schema linter, tsc, a browser)."""

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# CI sets this, so that a missing tool fails the run instead of skipping the tests that need it.
REQUIRE_ALL_TOOLS = os.environ.get("CONDUIT_REQUIRE_ALL_TOOLS") == "1"


def missing(reason: str) -> None:
    if REQUIRE_ALL_TOOLS:
        pytest.fail(reason)
    pytest.skip(reason)


def node_tool(name: str) -> Path:
    """A tool from node_modules/.bin, installed by `npm ci` (dev.py test does it when npm is
    available)."""
    tool = ROOT / "node_modules" / ".bin" / name
    if not tool.exists():
        missing(f"{name} is not installed: run `npm ci` (needs Node.js 20+)")
    return tool


def chromium() -> str:
    """Debian's chromium, the browser for the browser tests (`apt-get install chromium`)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        missing("chromium is not installed: run `apt-get install chromium`")
    return str(path)


def wait_for_live_server_requests(timeout: float = 10) -> None:
    """Waits until the live server's request threads (which hold database connections) have
    finished, once the clients hung up; PostgreSQL refuses to drop the test database while
    they are connected."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any("process_request_thread" in t.name for t in threading.enumerate()):
            return
        time.sleep(0.05)
