"""SQL expressions the reads are built from, beyond what Django ships."""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Subquery


class NameListField(models.Field):
    """A sorted list of names, from a PostgreSQL array or SQLite JSON text."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            value = json.loads(value)
        return sorted(value)


class SubqueryCount(Subquery):
    """The number of rows a queryset matches, as a scalar subquery."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"
    output_field = models.IntegerField()

    def __init__(self, queryset: models.QuerySet) -> None:
        super().__init__(queryset.order_by().values("pk"))


class NameList(Subquery):
    """The values of a one-column subquery as a list, within the outer query's own row, so an
    article and its tags come back in one statement, whatever the page size."""

    output_field = NameListField()
    template = "ARRAY(%(subquery)s)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = '(SELECT json_group_array("name") FROM (%(subquery)s))'
        return self.as_sql(compiler, connection, template=template, **extra)
