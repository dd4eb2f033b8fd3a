"""Drafts and publishing: Article.status and Article.published_at.

A draft is its author's alone, so everything the public reads counts and lists published
articles only, kept so by database triggers whichever code writes:
- Totals.articles, User.articles_count and Tag.articles_count count published articles (the
  counting functions of migration 0002 are replaced);
- link rows (ArticleTag, Favorite) carry their article's published_at while it is published and
  NULL while it is a draft (article_created_at of migration 0003 becomes article_published_at),
  so a tag's or a reader's favorites' newest published articles are read in order off one
  partial index;
- publishing, unpublishing, re-dating or moving an article to another author updates all of
  these, row by row.

Lock order, so concurrent writers cannot deadlock: an article before its link rows (a link row
is inserted only after its article is locked, so the date it copies is never stale); tags by
name; then users by id; then the Totals row.

Existing articles are published, with published_at = created_at. On SQLite, altering a table
rebuilds it, which a trigger naming the table gets in the way of, so the triggers of migrations
0002-0003 are dropped first, and this migration's made at the end.
"""

from django.db import migrations, models

POSTGRESQL_FORWARD = """
DROP TRIGGER conduit_article_tag_created_at ON resources_articletag;
DROP TRIGGER conduit_favorite_created_at ON resources_favorite;
DROP FUNCTION conduit_copy_article_created_at();
DROP TRIGGER conduit_article_created_at_changed ON resources_article;
DROP FUNCTION conduit_article_created_at_changed();
DROP TRIGGER conduit_article_author_changed ON resources_article;
DROP FUNCTION conduit_article_author_changed();

-- A new link row copies its article's published_at (NULL for a draft), holding the article's
-- row so that a concurrent publish waits for it, or it for the publish.
CREATE FUNCTION conduit_copy_article_published_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.article_published_at := (
        SELECT CASE WHEN status = 'published' THEN published_at END
        FROM resources_article WHERE id = NEW.article_id FOR UPDATE
    );
    RETURN NEW;
END $$;

CREATE TRIGGER conduit_article_tag_published_at BEFORE INSERT ON resources_articletag
    FOR EACH ROW EXECUTE FUNCTION conduit_copy_article_published_at();
CREATE TRIGGER conduit_favorite_published_at BEFORE INSERT ON resources_favorite
    FOR EACH ROW EXECUTE FUNCTION conduit_copy_article_published_at();

-- New and deleted articles count while published.
CREATE OR REPLACE FUNCTION conduit_articles_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM resources_user WHERE id IN
            (SELECT author_id FROM new_rows WHERE status = 'published')
            ORDER BY id FOR UPDATE;
        UPDATE resources_user u SET articles_count = u.articles_count + d.n
            FROM (SELECT author_id, count(*) AS n FROM new_rows WHERE status = 'published'
                  GROUP BY author_id) d
            WHERE u.id = d.author_id;
        INSERT INTO resources_totals (id, articles)
            SELECT 1, count(*) FROM new_rows WHERE status = 'published' HAVING count(*) > 0
            ON CONFLICT (id) DO UPDATE SET articles = resources_totals.articles + EXCLUDED.articles;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM resources_user WHERE id IN
            (SELECT author_id FROM old_rows WHERE status = 'published')
            ORDER BY id FOR UPDATE;
        UPDATE resources_user u SET articles_count = u.articles_count - d.n
            FROM (SELECT author_id, count(*) AS n FROM old_rows WHERE status = 'published'
                  GROUP BY author_id) d
            WHERE u.id = d.author_id;
        UPDATE resources_totals
            SET articles = articles - (SELECT count(*) FROM old_rows WHERE status = 'published')
            WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

-- A tag counts the links of published articles: those whose article_published_at is set.
CREATE OR REPLACE FUNCTION conduit_article_tags_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM resources_tag WHERE id IN
            (SELECT tag_id FROM new_rows WHERE article_published_at IS NOT NULL)
            ORDER BY name FOR UPDATE;
        UPDATE resources_tag t SET articles_count = t.articles_count + d.n
            FROM (SELECT tag_id, count(*) AS n FROM new_rows
                  WHERE article_published_at IS NOT NULL GROUP BY tag_id) d
            WHERE t.id = d.tag_id;
    ELSE
        PERFORM 1 FROM resources_tag WHERE id IN
            (SELECT tag_id FROM old_rows WHERE article_published_at IS NOT NULL)
            ORDER BY name FOR UPDATE;
        UPDATE resources_tag t SET articles_count = t.articles_count - d.n
            FROM (SELECT tag_id, count(*) AS n FROM old_rows
                  WHERE article_published_at IS NOT NULL GROUP BY tag_id) d
            WHERE t.id = d.tag_id;
    END IF;
    RETURN NULL;
END $$;

-- An article published, unpublished, re-dated or given to another author: rare next to
-- reads, and one row at a time, so row by row.
CREATE FUNCTION conduit_article_listing_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_listed boolean := OLD.status = 'published';
    is_listed boolean := NEW.status = 'published';
    listed_at timestamptz := CASE WHEN NEW.status = 'published' THEN NEW.published_at END;
    change integer := is_listed::integer - was_listed::integer;
BEGIN
    IF change <> 0 THEN
        PERFORM 1 FROM resources_tag WHERE id IN
            (SELECT tag_id FROM resources_articletag WHERE article_id = NEW.id)
            ORDER BY name FOR UPDATE;
        UPDATE resources_tag SET articles_count = articles_count + change
            WHERE id IN (SELECT tag_id FROM resources_articletag WHERE article_id = NEW.id);
    END IF;
    UPDATE resources_articletag SET article_published_at = listed_at
        WHERE article_id = NEW.id AND article_published_at IS DISTINCT FROM listed_at;
    UPDATE resources_favorite SET article_published_at = listed_at
        WHERE article_id = NEW.id AND article_published_at IS DISTINCT FROM listed_at;
    IF change <> 0 OR (is_listed AND OLD.author_id <> NEW.author_id) THEN
        PERFORM 1 FROM resources_user WHERE id IN (OLD.author_id, NEW.author_id)
            ORDER BY id FOR UPDATE;
        UPDATE resources_user SET articles_count = articles_count - 1
            WHERE id = OLD.author_id AND was_listed;
        UPDATE resources_user SET articles_count = articles_count + 1
            WHERE id = NEW.author_id AND is_listed;
    END IF;
    IF change > 0 THEN
        INSERT INTO resources_totals (id, articles) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET articles = resources_totals.articles + 1;
    ELSIF change < 0 THEN
        UPDATE resources_totals SET articles = articles - 1 WHERE id = 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER conduit_article_listing_changed
    AFTER UPDATE OF status, published_at, author_id ON resources_article
    FOR EACH ROW WHEN (
        OLD.status IS DISTINCT FROM NEW.status
        OR OLD.published_at IS DISTINCT FROM NEW.published_at
        OR OLD.author_id IS DISTINCT FROM NEW.author_id
    )
    EXECUTE FUNCTION conduit_article_listing_changed();
"""



POSTGRESQL_REVERSE = """
DROP TRIGGER conduit_article_listing_changed ON resources_article;
DROP FUNCTION conduit_article_listing_changed();
DROP TRIGGER conduit_article_tag_published_at ON resources_articletag;
DROP TRIGGER conduit_favorite_published_at ON resources_favorite;
DROP FUNCTION conduit_copy_article_published_at();
DROP TRIGGER conduit_articles_inserted ON resources_article;
DROP TRIGGER conduit_articles_deleted ON resources_article;
DROP FUNCTION conduit_articles_changed();
DROP TRIGGER conduit_article_tags_inserted ON resources_articletag;
DROP TRIGGER conduit_article_tags_deleted ON resources_articletag;
DROP FUNCTION conduit_article_tags_changed();
DROP TRIGGER conduit_favorites_inserted ON resources_favorite;
DROP TRIGGER conduit_favorites_deleted ON resources_favorite;
DROP FUNCTION conduit_favorites_changed();
"""

SQLITE_TRIGGERS_BEFORE = [
    "conduit_article_inserted",
    "conduit_article_deleted",
    "conduit_article_author_changed",
    "conduit_article_tag_inserted",
    "conduit_article_tag_deleted",
    "conduit_favorite_inserted",
    "conduit_favorite_deleted",
    "conduit_article_tag_created_at",
    "conduit_favorite_created_at",
    "conduit_article_created_at_changed",
]

# SQLite runs one writer at a time, so row triggers need no lock order; they cannot change the
# row being inserted, so a link row's date is filled in just after.
SQLITE_FORWARD = [
    """CREATE TRIGGER conduit_article_inserted AFTER INSERT ON resources_article
    WHEN NEW.status = 'published' BEGIN
        UPDATE resources_user SET articles_count = articles_count + 1 WHERE id = NEW.author_id;
        INSERT INTO resources_totals (id, articles) VALUES (1, 1)
            ON CONFLICT (id) DO UPDATE SET articles = articles + 1;
    END""",
    """CREATE TRIGGER conduit_article_deleted AFTER DELETE ON resources_article
    WHEN OLD.status = 'published' BEGIN
        UPDATE resources_user SET articles_count = articles_count - 1 WHERE id = OLD.author_id;
        UPDATE resources_totals SET articles = articles - 1 WHERE id = 1;
    END""",
    """CREATE TRIGGER conduit_article_listing_changed
    AFTER UPDATE OF status, published_at, author_id ON resources_article
    WHEN OLD.status IS NOT NEW.status OR OLD.published_at IS NOT NEW.published_at
        OR OLD.author_id IS NOT NEW.author_id BEGIN
        UPDATE resources_tag SET articles_count = articles_count
            + (NEW.status = 'published') - (OLD.status = 'published')
            WHERE id IN (SELECT tag_id FROM resources_articletag WHERE article_id = NEW.id);
        UPDATE resources_articletag SET article_published_at =
            CASE WHEN NEW.status = 'published' THEN NEW.published_at END
            WHERE article_id = NEW.id;
        UPDATE resources_favorite SET article_published_at =
            CASE WHEN NEW.status = 'published' THEN NEW.published_at END
            WHERE article_id = NEW.id;
        UPDATE resources_user SET articles_count = articles_count - 1
            WHERE id = OLD.author_id AND OLD.status = 'published';
        UPDATE resources_user SET articles_count = articles_count + 1
            WHERE id = NEW.author_id AND NEW.status = 'published';
        INSERT INTO resources_totals (id, articles) SELECT 1, 1
            WHERE NEW.status = 'published' AND OLD.status <> 'published'
            ON CONFLICT (id) DO UPDATE SET articles = articles + 1;
        UPDATE resources_totals SET articles = articles - 1
            WHERE id = 1 AND OLD.status = 'published' AND NEW.status <> 'published';
    END""",
    """CREATE TRIGGER conduit_article_tag_inserted AFTER INSERT ON resources_articletag BEGIN
        UPDATE resources_articletag SET article_published_at = (
            SELECT CASE WHEN status = 'published' THEN published_at END
            FROM resources_article WHERE id = NEW.article_id
        ) WHERE id = NEW.id;
        UPDATE resources_tag SET articles_count = articles_count + 1
            WHERE id = NEW.tag_id AND EXISTS (
                SELECT 1 FROM resources_article
                WHERE id = NEW.article_id AND status = 'published'
            );
    END""",
    """CREATE TRIGGER conduit_article_tag_deleted AFTER DELETE ON resources_articletag
    WHEN OLD.article_published_at IS NOT NULL BEGIN
        UPDATE resources_tag SET articles_count = articles_count - 1 WHERE id = OLD.tag_id;
    END""",
    """CREATE TRIGGER conduit_favorite_inserted AFTER INSERT ON resources_favorite BEGIN
        UPDATE resources_favorite SET article_published_at = (
            SELECT CASE WHEN status = 'published' THEN published_at END
            FROM resources_article WHERE id = NEW.article_id
        ) WHERE id = NEW.id;
        UPDATE resources_article SET favorites_count = favorites_count + 1
            WHERE id = NEW.article_id;
    END""",
    """CREATE TRIGGER conduit_favorite_deleted AFTER DELETE ON resources_favorite BEGIN
        UPDATE resources_article SET favorites_count = favorites_count - 1
            WHERE id = OLD.article_id;
    END""",
]

SQLITE_TRIGGERS_AFTER = [
    "conduit_article_inserted",
    "conduit_article_deleted",
    "conduit_article_listing_changed",
    "conduit_article_tag_inserted",
    "conduit_article_tag_deleted",
    "conduit_favorite_inserted",
    "conduit_favorite_deleted",
]

# Existing articles were all public: published when they were created.
PUBLISH_EXISTING = "UPDATE resources_article SET published_at = created_at WHERE published_at IS NULL"

# Copies and counts for rows written before these triggers existed.
BACKFILL = [
    """UPDATE resources_articletag SET article_published_at = (
        SELECT CASE WHEN status = 'published' THEN published_at END
        FROM resources_article WHERE id = resources_articletag.article_id)""",
    """UPDATE resources_favorite SET article_published_at = (
        SELECT CASE WHEN status = 'published' THEN published_at END
        FROM resources_article WHERE id = resources_favorite.article_id)""",
    """UPDATE resources_user SET articles_count = (
        SELECT count(*) FROM resources_article
        WHERE author_id = resources_user.id AND status = 'published')""",
    """UPDATE resources_tag SET articles_count = (
        SELECT count(*) FROM resources_articletag
        WHERE tag_id = resources_tag.id AND article_published_at IS NOT NULL)""",
    "DELETE FROM resources_totals",
    """INSERT INTO resources_totals (id, articles)
        SELECT 1, count(*) FROM resources_article WHERE status = 'published'""",
]


def _execute(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement)


def _earlier(name):
    # The SQL of an earlier migration, to put its triggers back when this one is reversed.
    from importlib import import_module

    return import_module(f"resources.migrations.{name}")


def drop_earlier_sqlite_triggers(apps, schema_editor):
    """SQLite rebuilds a table to alter it, and refuses to while a trigger names a table that is
    being swapped; the triggers are made again at the end."""
    if schema_editor.connection.vendor == "sqlite":
        _execute(schema_editor, [f"DROP TRIGGER IF EXISTS {n}" for n in SQLITE_TRIGGERS_BEFORE])


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _execute(schema_editor, [POSTGRESQL_FORWARD])
    else:
        _execute(schema_editor, SQLITE_FORWARD)
    _execute(schema_editor, BACKFILL)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _execute(schema_editor, [POSTGRESQL_REVERSE])
    else:
        _execute(schema_editor, [f"DROP TRIGGER IF EXISTS {n}" for n in SQLITE_TRIGGERS_AFTER])


def restore_earlier_triggers(apps, schema_editor):
    """Reversing: once the columns are back as they were, the triggers of 0002-0003 too."""
    counters, dates = _earlier("0002_counters"), _earlier("0003_article_dates")
    if schema_editor.connection.vendor == "postgresql":
        _execute(schema_editor, [counters.POSTGRESQL_FORWARD, dates.POSTGRESQL_FORWARD])
    else:
        _execute(schema_editor, [f"DROP TRIGGER IF EXISTS {n}" for n in SQLITE_TRIGGERS_BEFORE])
        _execute(schema_editor, [*counters.SQLITE_FORWARD, *dates.SQLITE_FORWARD])
    _execute(schema_editor, [*counters.BACKFILL, *dates.BACKFILL])

class Migration(migrations.Migration):

    dependencies = [
        ('resources', '0003_article_dates'),
    ]

    operations = [
        migrations.RunPython(drop_earlier_sqlite_triggers, restore_earlier_triggers),
        migrations.RemoveIndex(
            model_name='article',
            name='article_recent_idx',
        ),
        migrations.RemoveIndex(
            model_name='article',
            name='article_author_recent_idx',
        ),
        migrations.RemoveIndex(
            model_name='articletag',
            name='article_tag_recent_idx',
        ),
        migrations.RemoveIndex(
            model_name='favorite',
            name='favorite_recent_idx',
        ),
        migrations.RenameField(
            model_name='articletag',
            old_name='article_created_at',
            new_name='article_published_at',
        ),
        migrations.RenameField(
            model_name='favorite',
            old_name='article_created_at',
            new_name='article_published_at',
        ),
        migrations.AddField(
            model_name='article',
            name='published_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='article',
            name='status',
            field=models.CharField(choices=[('draft', 'Draft'), ('published', 'Published')], default='published', max_length=9),
        ),
        migrations.RunSQL(PUBLISH_EXISTING, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='article',
            name='slug',
            field=models.SlugField(db_index=False, max_length=255),
        ),
        migrations.AddIndex(
            model_name='article',
            index=models.Index(models.OrderBy(models.F('published_at'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('status', 'published')), name='article_recent_idx'),
        ),
        migrations.AddIndex(
            model_name='article',
            index=models.Index(models.F('author'), models.OrderBy(models.F('published_at'), descending=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('status', 'published')), name='article_author_recent_idx'),
        ),
        migrations.AddIndex(
            model_name='article',
            index=models.Index(models.F('author'), models.OrderBy(models.F('updated_at'), descending=True), models.OrderBy(models.F('id'), descending=True), name='article_author_updated_idx'),
        ),
        migrations.AddIndex(
            model_name='articletag',
            index=models.Index(models.F('tag'), models.OrderBy(models.F('article_published_at'), descending=True), models.OrderBy(models.F('article'), descending=True), condition=models.Q(('article_published_at__isnull', False)), name='article_tag_recent_idx'),
        ),
        migrations.AddIndex(
            model_name='favorite',
            index=models.Index(models.F('user'), models.OrderBy(models.F('article_published_at'), descending=True), models.OrderBy(models.F('article'), descending=True), condition=models.Q(('article_published_at__isnull', False)), name='favorite_recent_idx'),
        ),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'published')), fields=('slug',), name='article_published_slug_unique'),
        ),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.UniqueConstraint(fields=('slug', 'author'), name='article_slug_author_unique'),
        ),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['draft', 'published'])), name='article_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'published'), _negated=True), ('published_at__isnull', False), _connector='OR'), name='article_published_dated'),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
