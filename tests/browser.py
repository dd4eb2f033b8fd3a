"""Whether HTML fragments are inert in a real browser (Debian's chromium, driven by Playwright):
no script runs, nothing navigates, and nothing is fetched but what the markup plainly declares."""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from html import escape
from typing import Any

from tests.tools import BROWSER_ARGS, ROOT, chromium, free_port

HARNESS_JS = (ROOT / "tests" / "browser_harness.js").read_bytes()

# Fragments per page; a page where anything happens is visited again one fragment at a time,
# so that each event is pinned on the fragment that caused it.
BATCH_SIZE = 100
# How long a page is watched after everything was touched: timers, meta refresh, animations.
SETTLE_MS = 300
PAGE_TIMEOUT_S = 60


@dataclass(frozen=True)
class Event:
    """One thing that happened in the page. `declared` marks what the markup itself asks for
    and any HTML page does: an <img> loading its src, a clicked <a> requesting its href."""

    # script, call, dialog, navigation, frame, request, popup, download, websocket or harness
    kind: str
    detail: str
    declared: bool = False


@dataclass
class Outcome:
    """What happened while one fragment was in the page; inert when nothing but declared."""

    fragment: str
    events: list[Event] = field(default_factory=list)

    @property
    def findings(self) -> list[Event]:
        return [event for event in self.events if not event.declared]

    @property
    def inert(self) -> bool:
        return not self.findings


def documents_inert_in_browser(documents: list[str], landmarks: list[str]) -> list[Outcome]:
    """Like inert_in_browser, for whole documents (pages a server renders, with the harness put
    at the start of their <head>), one page each: each answers with the document's body as its
    one fragment. A document is intact when each landmark (a CSS selector) still matches exactly
    one element once everything was touched: markup that broke out of its place would not."""
    with _browser() as (browser, server):
        return [
            _visit(browser, server, [document], landmarks=landmarks)[0] for document in documents
        ]


def inert_in_browser(fragments: list[str], *, batch_size: int = BATCH_SIZE) -> list[Outcome]:
    """Loads the fragments into pages served from a local server (no Content-Security-Policy:
    the HTML itself must be inert), hovers, focuses and clicks every element, and answers, per
    fragment, what happened: script execution (the dialog functions and print, replaced by
    recorders; native dialogs from any frame; a sentinel function `xss`; and, beyond the page's
    reach, every script the debugger sees compiled), navigation of the page or a frame, frames,
    popups, downloads, and every outbound request other than the page itself."""
    outcomes: list[Outcome] = []
    with _browser() as (browser, server):
        for start in range(0, len(fragments), batch_size):
            batch = fragments[start : start + batch_size]
            visited = _visit(browser, server, batch)
            if len(batch) > 1 and any(not o.inert for o in visited):
                visited = [_visit(browser, server, [fragment])[0] for fragment in batch]
            outcomes += visited
    return outcomes


@contextmanager
def _browser() -> Iterator[tuple[Any, _FragmentServer]]:
    """Chromium with no network of its own, and the server of the pages it visits."""
    executable = chromium()
    from playwright.sync_api import sync_playwright

    # Every request for another host goes to a proxy that is not there and no name is looked
    # up, so it fails at once inside the browser and nothing leaves the machine (loopback, where
    # the page is, bypasses proxies); the page still sees, and reports, each request it made.
    nowhere = [
        f"--proxy-server=http://127.0.0.1:{free_port()}",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ]
    with _fragment_server() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=[*BROWSER_ARGS, *nowhere]
        )
        try:
            yield browser, server
        finally:
            browser.close()


class _FragmentServer:
    """Serves each page at a path of its own, and the harness script."""

    def __init__(self, base: str, pages: dict[str, bytes]) -> None:
        self.base = base
        self.pages = pages

    def add(self, fragments: list[str], done_token: str) -> str:
        sections = "".join(
            f'<section data-fragment="{i}">{fragment}</section>'
            for i, fragment in enumerate(fragments)
        )
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fragments</title>'
            f'<script src="/harness.js" data-done="{done_token}" data-settle="{SETTLE_MS}">'
            f'</script></head><body><main data-fragments="{len(fragments)}">{sections}</main>'
            "</body></html>"
        )
        return self._serve(page)

    def add_document(self, document: str, done_token: str, landmarks: list[str]) -> str:
        harness = (
            f'<script src="/harness.js" data-done="{done_token}" data-settle="{SETTLE_MS}" '
            f'data-landmarks="{escape("|".join(landmarks))}"></script>'
        )
        head = document.index("<head>") + len("<head>")
        return self._serve(document[:head] + harness + document[head:])

    def _serve(self, page: str) -> str:
        path = f"/page/{secrets.token_hex(8)}"
        self.pages[path] = page.encode()
        return self.base + path


@contextmanager
def _fragment_server() -> Iterator[_FragmentServer]:
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/harness.js":
                body, content_type = HARNESS_JS, "text/javascript"
            elif self.path in pages:
                # Once: a page that reloads itself gets a 404, seen as navigation.
                body, content_type = pages.pop(self.path), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the outcome says what was requested; stderr stays quiet

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a browser that hangs up mid-answer (a page closed) is no error here

    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield _FragmentServer(f"http://127.0.0.1:{httpd.server_address[1]}", pages)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@dataclass
class _Request:
    url: str
    resource_type: str


def _visit(
    browser: Any,
    server: _FragmentServer,
    fragments: list[str],
    *,
    landmarks: list[str] | None = None,
) -> list[Outcome]:
    """One page holding the fragments, in a fresh browser context; the outcome of each. With
    `landmarks`, the one fragment is a whole document, and the page is that document."""
    from playwright.sync_api import Error as PlaywrightError

    done_token = f"fragments-done-{secrets.token_hex(8)}"
    if landmarks is None:
        page_url = server.add(fragments, done_token)
    else:
        [document] = fragments
        page_url = server.add_document(document, done_token, landmarks)
    harness_url = f"{server.base}/harness.js"
    context = browser.new_context()
    page = context.new_page()
    events: list[Event] = []
    requests: list[_Request] = []
    scripts: list[tuple[str, str]] = []
    # The page and the harness are requested once each; a second request (a reload) is the
    # markup's doing.
    own = [page_url, harness_url]
    state: dict[str, Any] = {"observing": True, "done": False, "loads": 0, "deadline": 0.0}

    def on_script(script: dict) -> None:
        world = script.get("executionContextAuxData", {}).get("type")
        # Playwright's own helpers live in isolated worlds and the harness is the page's only
        # script: anything else compiled in the page is markup that ran script.
        if state["observing"] and world == "default" and script.get("url") != harness_url:
            scripts.append((script["scriptId"], script.get("url") or "(no address)"))

    def on_request(request: Any) -> None:
        if request.url in own:
            own.remove(request.url)
        elif state["observing"]:
            requests.append(_Request(request.url, request.resource_type))

    def on_navigated(frame: Any) -> None:
        if not state["observing"]:
            return
        if frame != page.main_frame:
            events.append(Event("navigation", f"a frame to {frame.url}"))
            return
        state["loads"] += 1
        if state["loads"] > 1:
            events.append(Event("navigation", f"the page to {frame.url}"))
            # The harness may be gone with the page it was in: a short wait for it, no more.
            state["deadline"] = min(state["deadline"], time.monotonic() + 2)

    def on_dialog(dialog: Any) -> None:
        events.append(Event("dialog", f"{dialog.type}({dialog.message})"))
        with suppress(PlaywrightError):  # its frame may be gone already
            dialog.dismiss()

    def on_console(message: Any) -> None:
        if message.text == done_token:
            state["done"] = True

    cdp = context.new_cdp_session(page)
    cdp.on("Debugger.scriptParsed", on_script)
    cdp.send("Debugger.enable")
    page.on("request", on_request)
    page.on("framenavigated", on_navigated)
    page.on("frameattached", lambda frame: events.append(Event("frame", "attached")))
    page.on("dialog", on_dialog)
    page.on("popup", lambda popup: events.append(Event("popup", popup.url)))
    page.on("download", lambda download: events.append(Event("download", download.url)))
    page.on("websocket", lambda socket: events.append(Event("websocket", socket.url)))
    page.on("console", on_console)
    report = None
    try:
        try:
            state["deadline"] = time.monotonic() + PAGE_TIMEOUT_S
            page.goto(page_url)
            while not state["done"] and time.monotonic() < state["deadline"]:
                page.wait_for_timeout(25)
        except PlaywrightError as error:
            events.append(Event("harness", f"the page failed: {error.message.splitlines()[0]}"))
        state["observing"] = False
        if state["done"]:
            report = page.evaluate("() => window.__harness.report()")
        else:
            events.append(Event("harness", "the page never finished: replaced or broken"))
        for script_id, url in scripts:
            try:
                source = cdp.send("Debugger.getScriptSource", {"scriptId": script_id})
                events.append(Event("script", source["scriptSource"][:200]))
            except PlaywrightError:  # its document is gone: its address says enough
                events.append(Event("script", f"from {url}"))
    finally:
        context.close()

    outcomes = [Outcome(fragment) for fragment in fragments]
    if report is None:
        report = {"calls": [], "declared": [], "followed": []}
    elif report["error"]:
        events.append(Event("harness", f"touching the elements failed: {report['error']}"))
    elif not report["intact"]:
        events.append(Event("harness", "the markup broke out of its <section>"))
    events += [Event("call", call) for call in report["calls"]]
    declared, followed = report["declared"][: len(fragments)], report["followed"]
    # A link followed (its click noted in the page, which stays) or an image loaded is declared
    # by the fragments whose markup names that address, and pinned on them.
    pinned = [(Event("navigation", f"link followed to {url}"), url, "links") for url in followed]
    for request in requests:
        event = Event("request", f"{request.resource_type} {request.url}")
        pinned.append((event, request.url, "images" if request.resource_type == "image" else ""))
    for event, url, declared_as in pinned:
        owners = [i for i, entry in enumerate(declared) if url in entry.get(declared_as, ())]
        for i in owners:
            outcomes[i].events.append(replace(event, declared=True))
        if not owners:
            events.append(event)
    # What cannot be pinned on one fragment goes to every fragment of the page; a page with any
    # finding is visited again one fragment at a time.
    unique = list(dict.fromkeys(events))
    for outcome in outcomes:
        outcome.events = unique + list(dict.fromkeys(outcome.events))
    return outcomes


def describe(outcome: Outcome) -> str:
    """The fragment and its findings on one line, for assertion messages."""
    findings = "; ".join(f"{e.kind}: {e.detail}" for e in outcome.findings)
    return f"{outcome.fragment[:300]!r} -> {findings}"
