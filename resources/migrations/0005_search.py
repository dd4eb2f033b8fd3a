"""Full-text search over articles (resources/search.py), kept in step with every write by triggers.

PostgreSQL: two tsvector columns on the article, search_vector (title A, description B, body C)
and search_tags (its tag names, B), a GIN index over both for published articles, and the text
search configuration in one function, conduit_search_config(), which the triggers and the
queries share. It is made from settings.SEARCH_CONFIG here; `manage.py search_reindex` makes it
again and recomputes every vector after that setting changes. Accents are removed (unaccent).

SQLite: an FTS5 table, resources_article_search, one row per article (rowid = the article's
id), with the porter stemmer and diacritics removed. Django rebuilds a SQLite table to alter it,
which drops its triggers: a later migration that alters resources_article on SQLite must make
this one's article triggers again (create_sqlite_triggers).

Neither is a model field: the ORM never reads or writes them; only the search expressions do.
"""

from django.conf import settings
from django.db import migrations

# SEARCH_CONFIG is checked to be a plain name in settings; the function's body checks that a
# configuration of that name exists.
POSTGRESQL_CONFIG = """
CREATE OR REPLACE FUNCTION conduit_search_config() RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '{config}'::regconfig $$;
"""

POSTGRESQL_FORWARD = """
CREATE EXTENSION IF NOT EXISTS unaccent;

ALTER TABLE resources_article
    ADD COLUMN search_vector tsvector NOT NULL DEFAULT '',
    ADD COLUMN search_tags tsvector NOT NULL DEFAULT '';

CREATE FUNCTION conduit_article_search_vector(title text, description text, body text)
    RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector(conduit_search_config(), unaccent(title)), 'A')
        || setweight(to_tsvector(conduit_search_config(), unaccent(description)), 'B')
        || setweight(to_tsvector(conduit_search_config(), unaccent(body)), 'C')
$$;

CREATE FUNCTION conduit_article_search_tags(article bigint)
    RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector(conduit_search_config(),
        unaccent(coalesce(string_agg(tag.name, ' '), ''))), 'B')
    FROM resources_articletag link JOIN resources_tag tag ON tag.id = link.tag_id
    WHERE link.article_id = article
$$;

CREATE FUNCTION conduit_article_text_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := conduit_article_search_vector(NEW.title, NEW.description, NEW.body);
    RETURN NEW;
END $$;

CREATE TRIGGER conduit_article_search_vector BEFORE INSERT OR UPDATE OF title, description, body
    ON resources_article FOR EACH ROW EXECUTE FUNCTION conduit_article_text_changed();

-- The articles whose tags changed, once per statement (a tag list is written in one).
CREATE FUNCTION conduit_article_tags_searched() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE resources_article SET search_tags = conduit_article_search_tags(id)
            WHERE id IN (SELECT article_id FROM new_rows);
    ELSE
        UPDATE resources_article SET search_tags = conduit_article_search_tags(id)
            WHERE id IN (SELECT article_id FROM old_rows);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER conduit_article_tags_searched_inserted AFTER INSERT ON resources_articletag
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conduit_article_tags_searched();
CREATE TRIGGER conduit_article_tags_searched_deleted AFTER DELETE ON resources_articletag
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION conduit_article_tags_searched();

CREATE INDEX article_search_idx ON resources_article
    USING gin ((search_vector || search_tags)) WHERE status = 'published';
"""

POSTGRESQL_BACKFILL = """
UPDATE resources_article SET
    search_vector = conduit_article_search_vector(title, description, body),
    search_tags = conduit_article_search_tags(id);
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER conduit_article_tags_searched_inserted ON resources_articletag;
DROP TRIGGER conduit_article_tags_searched_deleted ON resources_articletag;
DROP FUNCTION conduit_article_tags_searched();
DROP TRIGGER conduit_article_search_vector ON resources_article;
DROP FUNCTION conduit_article_text_changed();
DROP FUNCTION conduit_article_search_tags(bigint);
DROP FUNCTION conduit_article_search_vector(text, text, text);
ALTER TABLE resources_article DROP COLUMN search_vector, DROP COLUMN search_tags;
DROP FUNCTION conduit_search_config();
"""

SQLITE_TABLE = """
CREATE VIRTUAL TABLE resources_article_search USING fts5(
    title, description, tags, body, marker,
    tokenize = 'porter unicode61 remove_diacritics 2'
)
"""

# The tag names of an article, as the tags column holds them.
SQLITE_TAGS = """(
    SELECT coalesce(group_concat(tag.name, ' '), '')
    FROM resources_articletag link JOIN resources_tag tag ON tag.id = link.tag_id
    WHERE link.article_id = {article}
)"""

SQLITE_ARTICLE_TRIGGERS = [
    """CREATE TRIGGER conduit_article_searched_inserted AFTER INSERT ON resources_article BEGIN
        INSERT INTO resources_article_search (rowid, title, description, tags, body, marker)
            VALUES (NEW.id, NEW.title, NEW.description, '', NEW.body, 'all');
    END""",
    """CREATE TRIGGER conduit_article_searched_changed
    AFTER UPDATE OF title, description, body ON resources_article BEGIN
        UPDATE resources_article_search
            SET title = NEW.title, description = NEW.description, body = NEW.body
            WHERE rowid = NEW.id;
    END""",
    """CREATE TRIGGER conduit_article_searched_deleted AFTER DELETE ON resources_article BEGIN
        DELETE FROM resources_article_search WHERE rowid = OLD.id;
    END""",
]

SQLITE_TAG_TRIGGERS = [
    f"""CREATE TRIGGER conduit_article_tag_searched_inserted AFTER INSERT ON resources_articletag
    BEGIN
        UPDATE resources_article_search SET tags = {SQLITE_TAGS.format(article="NEW.article_id")}
            WHERE rowid = NEW.article_id;
    END""",
    f"""CREATE TRIGGER conduit_article_tag_searched_deleted AFTER DELETE ON resources_articletag
    BEGIN
        UPDATE resources_article_search SET tags = {SQLITE_TAGS.format(article="OLD.article_id")}
            WHERE rowid = OLD.article_id;
    END""",
]

SQLITE_BACKFILL = f"""
INSERT INTO resources_article_search (rowid, title, description, tags, body, marker)
    SELECT id, title, description, {SQLITE_TAGS.format(article="resources_article.id")}, body, 'all'
    FROM resources_article
"""

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS conduit_article_searched_inserted",
    "DROP TRIGGER IF EXISTS conduit_article_searched_changed",
    "DROP TRIGGER IF EXISTS conduit_article_searched_deleted",
    "DROP TRIGGER IF EXISTS conduit_article_tag_searched_inserted",
    "DROP TRIGGER IF EXISTS conduit_article_tag_searched_deleted",
    "DROP TABLE resources_article_search",
]


def create_sqlite_triggers(schema_editor):
    for statement in SQLITE_ARTICLE_TRIGGERS:
        schema_editor.execute(statement)


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CONFIG.format(config=settings.SEARCH_CONFIG))
        schema_editor.execute(POSTGRESQL_FORWARD)
        schema_editor.execute(POSTGRESQL_BACKFILL)
    else:
        schema_editor.execute(SQLITE_TABLE)
        create_sqlite_triggers(schema_editor)
        for statement in SQLITE_TAG_TRIGGERS:
            schema_editor.execute(statement)
        schema_editor.execute(SQLITE_BACKFILL)


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REVERSE)
    else:
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('resources', '0004_publishing'),
    ]

    operations = [
        migrations.RunPython(create_search, drop_search),
    ]
