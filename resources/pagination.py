"""Paging of article lists: a validated page in, `{"articles": [...], "articlesCount": n}` out."""

from __future__ import annotations

from typing import Any, Protocol

from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response


class Paged(Protocol):
    """A list that knows its page (validated with its filters, in the view's query template) and
    fetches it together with the total number of matching rows."""

    def page(self) -> tuple[list[Any], int]: ...


class ArticlePagination(BasePagination):
    """The envelope of a page of articles, as the RealWorld spec names it. Its `limit` and
    `offset` parameters are declared, and validated, by the view's query template."""

    # The page's name in the schema, as the RealWorld spec calls it.
    schema_name = "MultipleArticlesResponse"

    def paginate_queryset(self, queryset: Paged, request: Request, view: Any = None) -> list:  # type: ignore[override]
        page, self.count = queryset.page()
        return page

    def get_paginated_response(self, data: list) -> Response:
        return Response({"articles": data, "articlesCount": self.count})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["articles", "articlesCount"],
            "additionalProperties": False,
            "properties": {
                "articles": schema,
                "articlesCount": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "How many articles match, over all pages.",
                },
            },
        }
