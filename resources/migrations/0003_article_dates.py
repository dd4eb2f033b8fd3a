"""ArticleTag.article_created_at and Favorite.article_created_at: the article's creation time,
copied in by database triggers whichever code inserts the row, and kept equal if the article's
created_at ever changes. With them a tag's or a reader's favorites' newest articles are read in
order off one index (article_tag_recent_idx, favorite_recent_idx), whatever their number."""

from django.db import migrations, models

POSTGRESQL_FORWARD = """
CREATE FUNCTION conduit_copy_article_created_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.article_created_at := (SELECT created_at FROM resources_article WHERE id = NEW.article_id);
    RETURN NEW;
END $$;

CREATE TRIGGER conduit_article_tag_created_at BEFORE INSERT ON resources_articletag
    FOR EACH ROW EXECUTE FUNCTION conduit_copy_article_created_at();
CREATE TRIGGER conduit_favorite_created_at BEFORE INSERT ON resources_favorite
    FOR EACH ROW EXECUTE FUNCTION conduit_copy_article_created_at();

CREATE FUNCTION conduit_article_created_at_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE resources_articletag SET article_created_at = NEW.created_at WHERE article_id = NEW.id;
    UPDATE resources_favorite SET article_created_at = NEW.created_at WHERE article_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER conduit_article_created_at_changed AFTER UPDATE OF created_at ON resources_article
    FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION conduit_article_created_at_changed();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER conduit_article_tag_created_at ON resources_articletag;
DROP TRIGGER conduit_favorite_created_at ON resources_favorite;
DROP FUNCTION conduit_copy_article_created_at();
DROP TRIGGER conduit_article_created_at_changed ON resources_article;
DROP FUNCTION conduit_article_created_at_changed();
"""

# SQLite triggers cannot change the row being inserted, so they fill it in just after.
SQLITE_FORWARD = [
    """CREATE TRIGGER conduit_article_tag_created_at AFTER INSERT ON resources_articletag BEGIN
        UPDATE resources_articletag SET article_created_at =
            (SELECT created_at FROM resources_article WHERE id = NEW.article_id)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER conduit_favorite_created_at AFTER INSERT ON resources_favorite BEGIN
        UPDATE resources_favorite SET article_created_at =
            (SELECT created_at FROM resources_article WHERE id = NEW.article_id)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER conduit_article_created_at_changed AFTER UPDATE OF created_at
    ON resources_article WHEN OLD.created_at IS NOT NEW.created_at BEGIN
        UPDATE resources_articletag SET article_created_at = NEW.created_at
            WHERE article_id = NEW.id;
        UPDATE resources_favorite SET article_created_at = NEW.created_at
            WHERE article_id = NEW.id;
    END""",
]

SQLITE_REVERSE = [
    "DROP TRIGGER conduit_article_tag_created_at",
    "DROP TRIGGER conduit_favorite_created_at",
    "DROP TRIGGER conduit_article_created_at_changed",
]

BACKFILL = [
    """UPDATE resources_articletag SET article_created_at =
        (SELECT created_at FROM resources_article WHERE id = resources_articletag.article_id)""",
    """UPDATE resources_favorite SET article_created_at =
        (SELECT created_at FROM resources_article WHERE id = resources_favorite.article_id)""",
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [POSTGRESQL_FORWARD] if vendor == "postgresql" else SQLITE_FORWARD
    for statement in [*statements, *BACKFILL]:
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = [POSTGRESQL_REVERSE] if vendor == "postgresql" else SQLITE_REVERSE
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('resources', '0002_counters'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='articletag',
            name='article_tag_by_tag_idx',
        ),
        migrations.AddField(
            model_name='articletag',
            name='article_created_at',
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name='favorite',
            name='article_created_at',
            field=models.DateTimeField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name='articletag',
            index=models.Index(models.F('tag'), models.OrderBy(models.F('article_created_at'), descending=True), models.OrderBy(models.F('article'), descending=True), name='article_tag_recent_idx'),
        ),
        migrations.AddIndex(
            model_name='favorite',
            index=models.Index(models.F('user'), models.OrderBy(models.F('article_created_at'), descending=True), models.OrderBy(models.F('article'), descending=True), name='favorite_recent_idx'),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
