"""System checks that look at the database: `manage.py check --database default`."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError, connections


@register(Tags.database)
def search_config_applied(databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The text search configuration the index was built with is SEARCH_CONFIG's."""
    messages: list[CheckMessage] = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT conduit_search_config()::text")
                (indexed,) = cursor.fetchone()
        except DatabaseError:
            # Not migrated yet: migrating makes it from SEARCH_CONFIG.
            continue
        if indexed != settings.SEARCH_CONFIG:
            messages.append(
                Warning(
                    f"The search index uses the text search configuration {indexed!r}, but "
                    f"SEARCH_CONFIG is {settings.SEARCH_CONFIG!r}.",
                    hint="Run `python manage.py search_reindex` to apply SEARCH_CONFIG.",
                    id="conduit.W001",
                )
            )
    return messages
