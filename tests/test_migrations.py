"""Migrations carry existing data forward: rows written before a migration read as they should
after it, and a column added to articles keeps the triggers working."""

from datetime import UTC, datetime

import pytest
from django.db import OperationalError, connection, migrations, models
from django.db.migrations.executor import MigrationExecutor

from resources.migration_operations import AddColumn
from resources.models import Article, ArticleTag, Tag
from tests import recipes

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


def add_to_articles(operation, *, backwards=False):
    """Runs a migration operation on the article table of the latest schema (or undoes it)."""
    before = MigrationExecutor(connection).loader.project_state()
    after = before.clone()
    operation.state_forwards("resources", after)
    with connection.schema_editor() as editor:
        if backwards:
            operation.database_backwards("resources", editor, after, before)
        else:
            operation.database_forwards("resources", editor, before, after)


def test_a_column_added_to_articles_keeps_their_triggers(user):
    article = recipes.make_article(user, slug="before", tags=["kept"])
    operation = AddColumn(
        model_name="article",
        name="subtitle",
        field=models.CharField(max_length=120, blank=True, default=""),
    )

    add_to_articles(operation)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT subtitle FROM resources_article WHERE id = %s", [article.pk])
            assert cursor.fetchone() == ("",)
        # The counters' triggers still run: a new tag link counts, the deletion uncounts both.
        ArticleTag.objects.create(article=article, tag=Tag.objects.create(name="added"))
        assert dict(Tag.objects.values_list("name", "articles_count")) == {"kept": 1, "added": 1}
        Article.objects.filter(pk=article.pk).delete()
        assert dict(Tag.objects.values_list("name", "articles_count")) == {"kept": 0, "added": 0}
    finally:
        add_to_articles(operation, backwards=True)
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, "resources_article")
    assert "subtitle" not in {column.name for column in columns}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds the table")
def test_django_s_add_field_cannot_add_a_not_null_column_to_articles_on_sqlite():
    # Why AddColumn exists: SQLite's rebuild of the table trips over the triggers naming it.
    operation = migrations.AddField(
        model_name="article", name="subtitle", field=models.CharField(max_length=9, default="")
    )

    with pytest.raises(OperationalError, match="error in trigger"):
        add_to_articles(operation)
