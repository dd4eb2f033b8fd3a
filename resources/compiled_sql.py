"""Queries compiled to SQL once, then run again with each request's values.

Django compiles a queryset to SQL every time it runs, and for a page of articles that costs more
than the database takes to answer. So the queries every request makes (the signed-in user, a
page of articles, one article, the popular tags) are built once per kind with sentinel values
where the request's values go, compiled, and kept; each run copies the parameters, puts the
request's values where the sentinels were, and converts the rows with the queryset's own
converters.

A sentinel is a value no request can hold (`SENTINEL_ID` is a negative id; `sentinel_text()`
holds NUL characters, which the API refuses in every text it takes and PostgreSQL cannot even
store; a cursor's sentinel time is a microsecond after the year 1 began, which no article's
time is), so a parameter equal to one is always the request's slot. A value only becomes a
parameter as it is given, though: a lookup that transforms it (`icontains` wraps it in `%`) would
hide the sentinel, which is why each compiled query is checked against its plain queryset.

What guards this module:
- tests/test_compiled_sql.py: every compiled query answers exactly what its plain queryset
  answers, for each kind of list, filter combination, reader and lookup;
- tests/test_query_budget.py: one statement per list, article and tag read, for 1 and 20 rows;
- the list, feed, article, tag and authentication tests, which assert whole bodies;
- bench/run.py, which measures what it saves (list_anonymous, list_signed_in, tag_filter, feed,
  deep_page, article, tags) against the hand-written comparator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet

SENTINEL_ID = -4_611_686_018_427_387_903


def sentinel_text(name: str) -> str:
    return f"\x00{name}\x00"


class CompiledQuery:
    """A queryset's SQL, compiled once, run with other values in place of its sentinels.

    `sentinels` lists the sentinel values in the order `rows()` takes the request's values."""

    def __init__(self, queryset: QuerySet, sentinels: tuple[Any, ...]) -> None:
        self.alias = queryset.db
        self.query = queryset.query
        compiler = self.query.get_compiler(self.alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots = [
            (position, sentinels.index(value))
            for position, value in enumerate(params)
            if isinstance(value, (int, str, datetime))
            and not isinstance(value, bool)
            and value in sentinels
        ]
        selected = compiler.select[: compiler.col_count]
        self.columns = [column for column, _, _ in selected]
        self.names = [alias for _, _, alias in selected]

    def bound_params(self, values: tuple[Any, ...]) -> list[Any]:
        params = self.params.copy()
        for position, index in self.slots:
            params[position] = values[index]
        return params

    def rows(self, values: tuple[Any, ...]) -> list[tuple]:
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, self.bound_params(values))
            fetched = cursor.fetchall()
        compiler = self.query.get_compiler(self.alias)
        converters = compiler.get_converters(self.columns)
        return list(compiler.apply_converters(fetched, converters)) if converters else fetched
