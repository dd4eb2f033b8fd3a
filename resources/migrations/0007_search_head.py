"""PostgreSQL: search_head, the part of an article's search vectors that a search's relevance
tiers read (title A, description and tag names B), kept as a column of its own.

The tiers (resources/search.py) ask of every match whether the whole query holds in its title, or
in its title, description and tags. Asked of search_vector, each question unpacks the body's
lexemes too, which are most of the vector and stored out of line (TOAST): at 1,000,000 articles the
page of a search with 9,686 matches read 75,000 buffers for it and took 116 ms; asked of
search_head, which is small enough to stay in the row, 9,700 buffers and 26 ms. It is a generated
column, computed from search_vector and search_tags after the triggers of migration 0005 have set
them, so every write, a COPY and `manage.py search_reindex` keep it in step with no trigger of its
own.

Adding it rewrites the table once (ALTER TABLE takes an exclusive lock while it does).
SQLite's FTS5 table reads the tiers off its own columns and has nothing to add.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE resources_article ADD COLUMN search_head tsvector
    GENERATED ALWAYS AS (ts_filter(search_vector || search_tags, '{a,b}')) STORED
"""
REVERSE = "ALTER TABLE resources_article DROP COLUMN search_head"


def add_search_head(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def drop_search_head(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):

    dependencies = [
        ("resources", "0006_markdown"),
    ]

    operations = [
        migrations.RunPython(add_search_head, drop_search_head),
    ]
