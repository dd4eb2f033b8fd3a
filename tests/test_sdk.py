"""Clients generated from openapi.yaml work: the README's SDK steps run as written, a Python client
(openapi-python-client) drives a whole flow against the live server and reads the public routes
anonymously, and TypeScript types (openapi-typescript) type-check a usage file."""

import importlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.tools import ROOT, missing, node_tool, wait_for_live_server_requests

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def conduit_client(tmp_path_factory):
    """The generated package, imported from a temporary directory."""
    target = tmp_path_factory.mktemp("sdk") / "conduit_client"
    subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.yaml"),
            "--config",
            str(ROOT / "sdk" / "openapi-python-client.yaml"),
            "--output-path",
            str(target),
            "--meta",
            "none",
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(target.parent))
    try:
        yield importlib.import_module("conduit_client")
    finally:
        sys.path.remove(str(target.parent))


def operation(name: str):
    """A generated operation module, such as `articles.create_article`."""
    return importlib.import_module(f"conduit_client.api.{name}")


@pytest.mark.django_db(transaction=True)
def test_a_generated_python_client_drives_the_whole_flow(live_server, conduit_client):
    models = importlib.import_module("conduit_client.models")
    base = f"{live_server.url}/api"
    anonymous = conduit_client.Client(base_url=base, raise_on_unexpected_status=True)
    clients = [anonymous]

    def register(name):
        new_user = models.NewUser(
            username=name, email=f"{name}@example.com", password="s3cret-pass"
        )
        created = operation("user_and_authentication.create_user").sync(
            client=anonymous, body=models.NewUserRequest(user=new_user)
        )
        assert created.user.username == name
        credentials = models.LoginUser(email=f"{name}@example.com", password="s3cret-pass")
        token = (
            operation("user_and_authentication.login")
            .sync(client=anonymous, body=models.LoginUserRequest(user=credentials))
            .user.token
        )
        client = conduit_client.AuthenticatedClient(
            base_url=base, token=token, prefix="Token", raise_on_unexpected_status=True
        )
        clients.append(client)
        return client

    author, reader = register("author"), register("reader")

    draft = models.NewArticle(
        title="Dragons 101",
        description="All about dragons",
        body="They fly.",
        tag_list=["dragons", "101"],
    )
    create = operation("articles.create_article")
    body = models.NewArticleRequest(article=draft)
    # Sent twice with one Idempotency-Key (a retry after a timeout): written once.
    article = create.sync(client=author, body=body, idempotency_key="dragons-101").article
    retried = create.sync_detailed(client=author, body=body, idempotency_key="dragons-101")
    assert (article.slug, article.tag_list) == ("dragons-101", ["101", "dragons"])
    assert (retried.status_code, retried.headers["Idempotent-Replayed"]) == (201, "true")
    assert retried.parsed.article.slug == "dragons-101"

    by_tag = operation("articles.get_articles").sync(client=reader, tag="dragons")
    assert by_tag.articles_count == 1
    assert by_tag.articles[0].slug == "dragons-101"
    assert by_tag.next_cursor is None

    older = models.NewArticle(title="Dragons 100", description="Before", body="Eggs.")
    create.sync(client=author, body=models.NewArticleRequest(article=older))
    first_page = operation("articles.get_articles").sync(client=reader, limit=1)
    next_page = operation("articles.get_articles").sync(
        client=reader, limit=1, cursor=first_page.next_cursor
    )
    assert [a.slug for a in first_page.articles + next_page.articles] == [
        "dragons-100",
        "dragons-101",
    ]
    assert next_page.next_cursor is None

    favorited = operation("favorites.create_article_favorite").sync(
        client=reader, slug="dragons-101"
    )
    assert (favorited.article.favorited, favorited.article.favorites_count) == (True, 1)

    comment = models.NewCommentRequest(comment=models.NewComment(body="Great read!"))
    posted = operation("comments.create_article_comment").sync(
        client=reader, slug="dragons-101", body=comment
    )
    listed = operation("comments.get_article_comments").sync(client=anonymous, slug="dragons-101")
    assert [c.id for c in listed.comments] == [posted.comment.id]

    followed = operation("profile.follow_user_by_username").sync(client=reader, username="author")
    assert followed.profile.following is True

    feed = operation("articles.get_articles_feed").sync(client=reader)
    assert [a.slug for a in feed.articles] == ["dragons-100", "dragons-101"]
    assert feed.articles[0].author.following is True

    me = operation("user_and_authentication.get_current_user").sync(client=reader)
    assert (me.user.username, me.user.image) == ("reader", None)

    missing = operation("articles.get_article").sync_detailed(client=anonymous, slug="nope")
    assert missing.status_code == 404
    assert missing.parsed.errors.additional_properties == {"body": ["Article not found."]}

    for client in clients:
        client.get_httpx_client().close()
    wait_for_live_server_requests()


def test_generated_typescript_types_check_a_usage_file(tmp_path):
    generate, tsc = node_tool("openapi-typescript"), node_tool("tsc")
    for name in ("usage.ts", "tsconfig.json"):
        shutil.copy(ROOT / "sdk" / name, tmp_path / name)

    subprocess.run(
        [str(generate), str(ROOT / "openapi.yaml"), "-o", str(tmp_path / "schema.d.ts")],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [str(tsc), "-p", str(tmp_path)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_generated_python_client_reads_the_public_routes_anonymously(live_server, conduit_client):
    call_command("seed_demo", "--users", "3", "--articles", "4", "--comments", "6")
    anonymous = conduit_client.Client(
        base_url=f"{live_server.url}/api", raise_on_unexpected_status=True
    )

    tags = operation("tags.get_tags").sync(client=anonymous).tags
    articles = operation("articles.get_articles").sync(client=anonymous, limit=2).articles
    slug, author = articles[0].slug, articles[0].author.username
    article = operation("articles.get_article").sync(client=anonymous, slug=slug).article
    profile = (
        operation("profile.get_profile_by_username").sync(client=anonymous, username=author).profile
    )
    comments = operation("comments.get_article_comments").sync(client=anonymous, slug=slug)

    assert tags
    assert len(articles) == 2
    assert (article.slug, article.favorited) == (slug, False)
    assert (profile.username, profile.following) == (author, False)
    assert isinstance(comments.comments, list)
    anonymous.get_httpx_client().close()
    wait_for_live_server_requests()


# --- The README's SDK section, as written ------------------------------------------------------

README_BASE_URL = "http://127.0.0.1:8000/api"


def readme_sdk_blocks() -> tuple[str, str]:
    """The shell block and the Python block of the README's SDK section, as a reader copies
    them."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The schema, the docs and client SDKs") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"^```(\w+)\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    [shell] = [code for language, code in blocks if language == "sh" and "conduit-client" in code]
    [usage] = [code for language, code in blocks if language == "python"]
    return shell, usage


def checkout_copy(target: Path) -> Path:
    """The tracked files of the checkout, copied to `target`, as a fresh clone has them."""
    git = shutil.which("git")
    if git is None:
        missing("git is needed to copy the checkout")
    listed = subprocess.run(
        [str(git), "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_readme_sdk_steps_work_as_written(live_server, tmp_path):
    if shutil.which("npm") is None:
        missing("npm is needed for the README's TypeScript step (Node.js 20+)")
    shell, usage = readme_sdk_blocks()
    assert README_BASE_URL in usage
    checkout = checkout_copy(tmp_path / "checkout")
    # The .venv that `dev.py serve` makes, here a new one that also sees the suite's installed
    # packages (a .pth file), so installing requirements-dev.txt finds them there instead of
    # downloading them; what the README installs besides (the client) goes into this one only.
    subprocess.run([sys.executable, "-m", "venv", checkout / ".venv"], check=True)
    python = checkout / ".venv" / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "suite-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}

    steps = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-euo", "pipefail", "-c", shell],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert steps.returncode == 0, steps.stdout[-5000:] + steps.stderr[-5000:]

    call_command("seed_demo")
    run = subprocess.run(
        [python, "-c", usage.replace(README_BASE_URL, f"{live_server.url}/api")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    wait_for_live_server_requests()
    assert run.returncode == 0, run.stdout + run.stderr
    printed = [line.split(":")[0] for line in run.stdout.splitlines()]
    assert printed == ["tags", "latest", "next", "first", "feed", "comment"], run.stdout
    assert run.stdout.rstrip().endswith("written once: True"), run.stdout
