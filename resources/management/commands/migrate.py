"""Django's `migrate`, taking turns: on PostgreSQL it holds a database-wide lock while it runs, so
several instances starting at once (`MIGRATE_ON_START=1`, a deploy that scales out) apply each
migration once; the others wait, then find nothing left to apply."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate
from django.db import connections

# The key of the PostgreSQL advisory lock every `migrate` of this project takes ("conduit").
MIGRATION_LOCK = 0x636F6E64756974


class Command(migrate.Command):
    help = migrate.Command.help + " On PostgreSQL, one instance at a time (an advisory lock)."

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            super().handle(*args, **options)
            return
        with connection.cursor() as cursor:
            # Waiting for another instance's migrations, and running a migration over a large
            # table, may both take longer than the statement timeout that guards requests.
            cursor.execute("SET statement_timeout = 0")
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            super().handle(*args, **options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
