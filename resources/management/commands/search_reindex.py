"""Makes the search index's text search configuration SEARCH_CONFIG again and recomputes every
article's search vectors with it (PostgreSQL; SQLite's FTS5 index has no configuration)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from resources.search import postgresql_config_sql

REINDEX = """
UPDATE resources_article SET
    search_vector = conduit_article_search_vector(title, description, body),
    search_tags = conduit_article_search_tags(id)
"""


class Command(BaseCommand):
    help = "Applies SEARCH_CONFIG to the full-text search index and recomputes it (PostgreSQL)."

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to do: SQLite's search index has no configuration.")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute(postgresql_config_sql(settings.SEARCH_CONFIG))
            cursor.execute(REINDEX)
            count = cursor.rowcount
        self.stdout.write(
            f"Search index: {count} articles with configuration {settings.SEARCH_CONFIG!r}."
        )
