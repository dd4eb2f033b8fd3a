"""Takes docs/article-page.png: an article's shareable page (/articles/<slug>), rendered by the
project from a scratch SQLite database and photographed in headless chromium.

    .venv/bin/python scripts/article_screenshot.py [OUTPUT.png]

Needs Debian's chromium (`apt-get install chromium`) and Playwright (requirements-dev.txt). The
page is loaded with chromium's network cut off, as the browser tests load pages."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BODY = """\
Every dragon trainer starts with the same question: where does one even begin? This guide walks
through the first weeks, from the first meeting to the first flight.

## Earn its trust

Dragons are **curious** and *proud*. Sit with it for an hour a day, and talk. Bring fish.

> A dragon that trusts you will follow you anywhere. One that does not will follow you too,
> which is worse.

## Learn the signals

| Signal | Meaning |
| --- | --- |
| Tail curled | Content |
| Smoke rings | Amused |
| Wings spread | Leave, now |

## A feeding schedule

```python
def feed(dragon, hour):
    return "fish" if hour < 12 else "more fish"
```

Read more in [the trainers' handbook](https://example.com/handbook).
"""


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "article-page.png"
    scratch = tempfile.mkdtemp(prefix="conduit-screenshot-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="api_project.settings",
        DATABASE_URL=f"sqlite:///{scratch}/db.sqlite3",
        PUBLIC_BASE_URL="https://conduit.example",
        FRONTEND_ARTICLE_URL="https://app.conduit.example/article/{slug}",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from resources.models import User
    from resources.services import article_create
    from tests.tools import BROWSER_ARGS, chromium

    call_command("migrate", verbosity=0)
    author = User.objects.create_user("ada.lovelace", "ada@example.com", "conduit-demo")
    article = article_create(
        author=author,
        title="How to train your dragon",
        description="The first weeks with a dragon, from the first meeting to the first flight.",
        body=BODY,
        tag_names=["dragons", "training", "guides"],
    )
    html = Client(HTTP_HOST="127.0.0.1").get(f"/articles/{article.slug}").content.decode()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium(),
            args=[
                *BROWSER_ARGS,
                "--proxy-server=http://127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_content(html, wait_until="load")
            page.screenshot(path=str(output), full_page=True)
        finally:
            browser.close()
    shutil.rmtree(scratch)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
