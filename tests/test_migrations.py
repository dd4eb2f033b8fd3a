"""Migrations carry existing data forward: rows written before a migration read as they should
after it."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BEFORE_PUBLISHING = [("resources", "0003_article_dates")]
WRITTEN = datetime(2025, 5, 4, 3, 2, 1, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def before_publishing():
    """The database as it was before drafts existed; put back to the latest state after."""
    apps = migrate(BEFORE_PUBLISHING)
    yield apps
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(latest)


def test_existing_articles_are_published_when_they_were_created(before_publishing):
    user_model = before_publishing.get_model("resources", "User")
    article_model = before_publishing.get_model("resources", "Article")
    tag_model = before_publishing.get_model("resources", "Tag")
    link_model = before_publishing.get_model("resources", "ArticleTag")
    author = user_model.objects.create(username="old", email="old@example.com", password="x")
    article = article_model.objects.create(
        slug="old-post",
        title="Old",
        description="d",
        body="b",
        author=author,
        created_at=WRITTEN,
        updated_at=WRITTEN,
    )
    link_model.objects.create(article=article, tag=tag_model.objects.create(name="old"))

    apps = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    migrated = apps.get_model("resources", "Article").objects.get(pk=article.pk)
    assert (migrated.status, migrated.published_at) == ("published", WRITTEN)
    link = apps.get_model("resources", "ArticleTag").objects.get()
    assert link.article_published_at == WRITTEN
    assert apps.get_model("resources", "Tag").objects.get().articles_count == 1
    assert apps.get_model("resources", "User").objects.get().articles_count == 1
    assert apps.get_model("resources", "Totals").objects.get().articles == 1
