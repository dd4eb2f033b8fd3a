"""Counters kept exact by the database itself: Totals.articles, User.articles_count,
Tag.articles_count and Article.favorites_count.

Triggers update them in the same transaction as the rows they count, whichever code writes
(the API, the admin, cascading deletes, bulk loads), so a list's articlesCount and an article's
favoritesCount are read from one row instead of counted over a table. PostgreSQL uses
statement-level triggers (one UPDATE per statement, however many rows it touched); SQLite has
row-level ones.

Lock order, so concurrent writers cannot deadlock: tags (always by name, as the services upsert
them), then users, then the Totals row; articles (for favorites) by id.
Deletes only ever decrement (never create) the Totals row, so emptying the tables in any order
(as test flushes do) leaves nothing behind.
"""

from django.db import migrations, models

POSTGRESQL_FORWARD = """
CREATE FUNCTION conduit_articles_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM resources_user WHERE id IN (SELECT author_id FROM new_rows)
            ORDER BY id FOR UPDATE;
        UPDATE resources_user u SET articles_count = u.articles_count + d.n
            FROM (SELECT author_id, count(*) AS n FROM new_rows GROUP BY author_id) d
            WHERE u.id = d.author_id;
        INSERT INTO resources_totals (id, articles) SELECT 1, count(*) FROM new_rows
            ON CONFLICT (id) DO UPDATE SET articles = resources_totals.articles + EXCLUDED.articles;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM resources_user WHERE id IN (SELECT author_id FROM old_rows)
            ORDER BY id FOR UPDATE;
        UPDATE resources_user u SET articles_count = u.articles_count - d.n
            FROM (SELECT author_id, count(*) AS n FROM old_rows GROUP BY author_id) d
            WHERE u.id = d.author_id;
        UPDATE resources_totals SET articles = articles - (SELECT count(*) FROM old_rows)
            WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER conduit_articles_inserted AFTER INSERT ON resources_article
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conduit_articles_changed();
CREATE TRIGGER conduit_articles_deleted AFTER DELETE ON resources_article
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conduit_articles_changed();

-- An article moved to another author (the admin can do that): rare, so row by row.
CREATE FUNCTION conduit_article_author_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE resources_user SET articles_count = articles_count - 1 WHERE id = OLD.author_id;
    UPDATE resources_user SET articles_count = articles_count + 1 WHERE id = NEW.author_id;
    RETURN NULL;
END $$;

CREATE TRIGGER conduit_article_author_changed AFTER UPDATE OF author_id ON resources_article
    FOR EACH ROW WHEN (OLD.author_id IS DISTINCT FROM NEW.author_id)
    EXECUTE FUNCTION conduit_article_author_changed();

CREATE FUNCTION conduit_article_tags_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM resources_tag WHERE id IN (SELECT tag_id FROM new_rows)
            ORDER BY name FOR UPDATE;
        UPDATE resources_tag t SET articles_count = t.articles_count + d.n
            FROM (SELECT tag_id, count(*) AS n FROM new_rows GROUP BY tag_id) d
            WHERE t.id = d.tag_id;
    ELSE
        PERFORM 1 FROM resources_tag WHERE id IN (SELECT tag_id FROM old_rows)
            ORDER BY name FOR UPDATE;
        UPDATE resources_tag t SET articles_count = t.articles_count - d.n
            FROM (SELECT tag_id, count(*) AS n FROM old_rows GROUP BY tag_id) d
            WHERE t.id = d.tag_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER conduit_article_tags_inserted AFTER INSERT ON resources_articletag
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conduit_article_tags_changed();
CREATE TRIGGER conduit_article_tags_deleted AFTER DELETE ON resources_articletag
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conduit_article_tags_changed();

CREATE FUNCTION conduit_favorites_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM resources_article WHERE id IN (SELECT article_id FROM new_rows)
            ORDER BY id FOR UPDATE;
        UPDATE resources_article a SET favorites_count = a.favorites_count + d.n
            FROM (SELECT article_id, count(*) AS n FROM new_rows GROUP BY article_id) d
            WHERE a.id = d.article_id;
    ELSE
        PERFORM 1 FROM resources_article WHERE id IN (SELECT article_id FROM old_rows)
            ORDER BY id FOR UPDATE;
        UPDATE resources_article a SET favorites_count = a.favorites_count - d.n
            FROM (SELECT article_id, count(*) AS n FROM old_rows GROUP BY article_id) d
            WHERE a.id = d.article_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER conduit_favorites_inserted AFTER INSERT ON resources_favorite
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conduit_favorites_changed();
CREATE TRIGGER conduit_favorites_deleted AFTER DELETE ON resources_favorite
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conduit_favorites_changed();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER conduit_articles_inserted ON resources_article;
DROP TRIGGER conduit_articles_deleted ON resources_article;
DROP FUNCTION conduit_articles_changed();
DROP TRIGGER conduit_article_author_changed ON resources_article;
DROP FUNCTION conduit_article_author_changed();
DROP TRIGGER conduit_article_tags_inserted ON resources_articletag;
DROP TRIGGER conduit_article_tags_deleted ON resources_articletag;
DROP FUNCTION conduit_article_tags_changed();
DROP TRIGGER conduit_favorites_inserted ON resources_favorite;
DROP TRIGGER conduit_favorites_deleted ON resources_favorite;
DROP FUNCTION conduit_favorites_changed();
"""

SQLITE_FORWARD = [
    """CREATE TRIGGER conduit_article_inserted AFTER INSERT ON resources_article BEGIN
        UPDATE resources_user SET articles_count = articles_count + 1 WHERE id = NEW.author_id;
        INSERT INTO resources_totals (id, articles) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET articles = articles + 1;
    END""",
    """CREATE TRIGGER conduit_article_deleted AFTER DELETE ON resources_article BEGIN
        UPDATE resources_user SET articles_count = articles_count - 1 WHERE id = OLD.author_id;
        UPDATE resources_totals SET articles = articles - 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER conduit_article_author_changed AFTER UPDATE OF author_id ON resources_article
    WHEN NEW.author_id <> OLD.author_id BEGIN
        UPDATE resources_user SET articles_count = articles_count - 1 WHERE id = OLD.author_id;
        UPDATE resources_user SET articles_count = articles_count + 1 WHERE id = NEW.author_id;
    END""",
    """CREATE TRIGGER conduit_article_tag_inserted AFTER INSERT ON resources_articletag BEGIN
        UPDATE resources_tag SET articles_count = articles_count + 1 WHERE id = NEW.tag_id;
    END""",
    """CREATE TRIGGER conduit_article_tag_deleted AFTER DELETE ON resources_articletag BEGIN
        UPDATE resources_tag SET articles_count = articles_count - 1 WHERE id = OLD.tag_id;
    END""",
    """CREATE TRIGGER conduit_favorite_inserted AFTER INSERT ON resources_favorite BEGIN
        UPDATE resources_article SET favorites_count = favorites_count + 1 WHERE id = NEW.article_id;
    END""",
    """CREATE TRIGGER conduit_favorite_deleted AFTER DELETE ON resources_favorite BEGIN
        UPDATE resources_article SET favorites_count = favorites_count - 1 WHERE id = OLD.article_id;
    END""",
]

SQLITE_REVERSE = [
    f"DROP TRIGGER {name}"
    for name in [
        "conduit_article_inserted",
        "conduit_article_deleted",
        "conduit_article_author_changed",
        "conduit_article_tag_inserted",
        "conduit_article_tag_deleted",
        "conduit_favorite_inserted",
        "conduit_favorite_deleted",
    ]
]

# Counts for rows written before the triggers existed.
BACKFILL = [
    """UPDATE resources_user SET articles_count =
        (SELECT count(*) FROM resources_article WHERE author_id = resources_user.id)""",
    """UPDATE resources_tag SET articles_count =
        (SELECT count(*) FROM resources_articletag WHERE tag_id = resources_tag.id)""",
    """UPDATE resources_article SET favorites_count =
        (SELECT count(*) FROM resources_favorite WHERE article_id = resources_article.id)""",
    "DELETE FROM resources_totals",
    "INSERT INTO resources_totals (id, articles) SELECT 1, count(*) FROM resources_article",
]


def _execute(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _execute(schema_editor, [POSTGRESQL_FORWARD])
    elif vendor == "sqlite":
        _execute(schema_editor, SQLITE_FORWARD)
    else:
        raise NotImplementedError(f"counter triggers are written for PostgreSQL and SQLite, not {vendor}")
    _execute(schema_editor, BACKFILL)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _execute(schema_editor, [POSTGRESQL_REVERSE] if vendor == "postgresql" else SQLITE_REVERSE)


class Migration(migrations.Migration):

    dependencies = [
        ('resources', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Totals',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('articles', models.BigIntegerField(default=0)),
            ],
            options={
                'verbose_name_plural': 'totals',
            },
        ),
        migrations.AddField(
            model_name='article',
            name='favorites_count',
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='tag',
            name='articles_count',
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='user',
            name='articles_count',
            field=models.IntegerField(default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name='tag',
            index=models.Index(models.OrderBy(models.F('articles_count'), descending=True), models.F('name'), name='tag_popular_idx'),
        ),
        migrations.AddConstraint(
            model_name='totals',
            constraint=models.CheckConstraint(condition=models.Q(('id', 1)), name='totals_single_row'),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
