"""Swagger UI and ReDoc in a real headless browser (Debian's chromium, driven by Playwright):
every operation renders, "Authorize" takes a token, "Try it out" works, and no request leaves
the machine."""

import os
from urllib.parse import urlsplit

import pytest
import yaml

from resources.authentication import token_issue
from resources.models import Tag
from tests import recipes
from tests.tools import BROWSER_ARGS, ROOT, chromium, wait_for_live_server_requests

pytestmark = pytest.mark.django_db(transaction=True)

OPERATIONS = sum(
    1
    for operations in yaml.safe_load((ROOT / "openapi.yaml").read_text())["paths"].values()
    for method in operations
    if method in {"get", "put", "post", "delete", "patch"}
)


@pytest.fixture
def browser_page(token):
    """A page in headless chromium. It starts after the data the page shows is written: under
    Playwright's event loop, database work in this thread would open a second connection."""
    executable = chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the server has its own threads.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        page = browser.new_page()
        outside: list[str] = []

        def guard(route):
            host = urlsplit(route.request.url).hostname
            if host == "127.0.0.1" or route.request.url.startswith("data:"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", guard)
        yield page, outside
        browser.close()
    wait_for_live_server_requests()

    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def token():
    user = recipes.user.make(username="jake", email="jake@jake.jake", password="x")
    article = recipes.article.make(author=user, slug="how-to-train-your-dragon")
    article.tags.add(Tag.objects.create(name="dragons"))
    return token_issue(user=user)


def try_it(page, operation_id: str) -> str:
    block = page.locator(f"[id$='-{operation_id}']")
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=15_000)
    return status.inner_text().strip()


def test_swagger_ui_renders_every_operation_and_runs_them_offline(live_server, token, browser_page):
    page, outside = browser_page

    page.goto(f"{live_server.url}/api/docs")
    page.locator(".opblock").first.wait_for(timeout=15_000)

    assert page.locator(".opblock").count() == OPERATIONS
    assert try_it(page, "GetTags") == "200"

    page.locator(".auth-wrapper .authorize").click()
    page.locator(".auth-container input").fill(f"Token {token}")
    page.locator(".auth-btn-wrapper .modal-btn.authorize").click()
    page.locator(".auth-btn-wrapper .btn-done").click()
    assert try_it(page, "GetCurrentUser") == "200"

    assert outside == []


def test_redoc_renders_every_operation_offline(live_server, browser_page):
    page, outside = browser_page

    page.goto(f"{live_server.url}/api/redoc")
    page.locator("[data-section-id^='tag/']").first.wait_for(timeout=15_000)

    operations = page.locator("[id^='tag/'][id*='/operation/']")
    assert operations.count() == OPERATIONS
    assert outside == []
