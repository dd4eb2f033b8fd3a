"""Paging of article lists: a validated page in, `{"articles": [...], "articlesCount": n,
"nextCursor": ...}` out, and the next page's address in a `Link` header (RFC 8288)."""

from __future__ import annotations

from typing import Any, Protocol

from django.utils.http import urlencode
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from resources import cursors
from resources.listing import Page

NEXT_CURSOR_HELP = (
    "Where the next page starts: pass it as `cursor` (instead of `offset`) to get it. Null on "
    "the last page, and for a search, which pages by offset only."
)
LINK_HELP = (
    'The next page, where there is one: `<...>; rel="next"` (RFC 8288), a URL relative to this '
    "server with the same filters and limit and the next page's `cursor` (a search: its "
    "`offset`)."
)


class Paged(Protocol):
    """A list that knows its page (validated with its filters, in the view's query template) and
    fetches it together with the total number of matching rows and where the next page starts."""

    def fetch(self) -> Page: ...


class ArticlePagination(BasePagination):
    """The envelope of a page of articles, as the RealWorld spec names it, with the next page's
    cursor added. Its `limit`, `offset` and `cursor` parameters are declared, and validated, by
    the view's query template."""

    # The page's name in the schema, as the RealWorld spec calls it.
    schema_name = "MultipleArticlesResponse"

    def paginate_queryset(self, queryset: Paged, request: Request, view: Any = None) -> list:  # type: ignore[override]
        page = queryset.fetch()
        self.count = page.total
        self.next_cursor = cursors.encode(page.next) if page.next is not None else None
        self.next_link = None
        if page.has_next:
            query = request.query_params.copy()
            query.pop("cursor", None)
            query.pop("offset", None)
            if self.next_cursor is not None:
                query["cursor"] = self.next_cursor
            else:
                query["offset"] = str(getattr(queryset, "offset", 0) + len(page.rows))
            pairs = sorted((name, str(value)) for name, value in query.items())
            self.next_link = f"{request.path}?{urlencode(pairs)}"
        return page.rows

    def get_paginated_response(self, data: list) -> Response:
        body = {"articles": data, "articlesCount": self.count, "nextCursor": self.next_cursor}
        headers = {"Link": f'<{self.next_link}>; rel="next"'} if self.next_link else None
        return Response(body, headers=headers)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["articles", "articlesCount", "nextCursor"],
            "additionalProperties": False,
            "properties": {
                "articles": schema,
                "articlesCount": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "How many articles match, over all pages.",
                },
                "nextCursor": {"type": "string", "nullable": True, "description": NEXT_CURSOR_HELP},
            },
        }
