"""Timestamps from PostgreSQL, parsed by psycopg's C loader (resources/timestamps.py): the same
instants, in Django's time zone, as Django's own loader gives."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from psycopg import adapters
from psycopg.pq import Format

from resources.models import Article
from tests import recipes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the loader is PostgreSQL's (psycopg)"
    ),
]

TIMESTAMPTZ = adapters.types["timestamptz"].oid
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def loaded(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def test_a_connection_loads_timestamps_with_the_c_loader(user):
    recipes.article.make(author=user)

    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)

    assert loader.__module__ == "resources.timestamps"
    assert loader.timezone == connection.timezone


@pytest.mark.parametrize("session_zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_timestamps_are_the_same_instants_in_djangos_time_zone(user, session_zone):
    article = recipes.article.make(author=user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [session_zone])

    value, microseconds = loaded(
        "SELECT created_at, (extract(epoch FROM created_at) * 1000000)::bigint"
        " FROM resources_article WHERE id = %s",
        [article.pk],
    )

    assert value.tzinfo is connection.timezone
    assert (value - EPOCH) // timedelta(microseconds=1) == microseconds
    assert Article.objects.get(pk=article.pk).created_at == value
