"""Clients generated from openapi.yaml work: a Python client (openapi-python-client) drives a whole
flow against the live server, and TypeScript types (openapi-typescript) type-check a usage file."""

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import ROOT, node_tool, wait_for_live_server_requests

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
    article = (
        operation("articles.create_article")
        .sync(client=author, body=models.NewArticleRequest(article=draft))
        .article
    )
    assert (article.slug, article.tag_list) == ("dragons-101", ["101", "dragons"])

    by_tag = operation("articles.get_articles").sync(client=reader, tag="dragons")
    assert by_tag.articles_count == 1
    assert by_tag.articles[0].slug == "dragons-101"

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
    assert [a.slug for a in feed.articles] == ["dragons-101"]
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
