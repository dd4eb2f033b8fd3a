"""Paging of article lists: `limit`/`offset` in, `{"articles": [...], "articlesCount": n}` out."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from resources.querysets import ArticleListing
from serializers_templates.articles import ONE_VALUE

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Deeper than any real list; keeps OFFSET within what every database accepts.
MAX_OFFSET = 2_147_483_647

INTEGER_REQUIRED = "A valid integer is required."


def _query_int(request: Request, name: str, default: int, minimum: int) -> int:
    given = request.query_params.getlist(name)
    if not given:
        return default
    if len(given) > 1:
        raise ValidationError({name: [ONE_VALUE]})
    raw = given[0]
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError({name: [INTEGER_REQUIRED]})
    # Past 18 digits the exact value no longer matters, and int() of thousands of digits is slow.
    value = int(raw) if len(digits) <= 18 else 10**18
    if raw.startswith("-"):
        value = -abs(value)
    if value < minimum:
        raise ValidationError({name: [f"Ensure this value is greater than or equal to {minimum}."]})
    return value


class ArticlePagination(BasePagination):
    """Limit/offset paging with strict parameters: a non-integer, a limit below 1 or a negative
    offset is a 422; a limit above MAX_LIMIT is clamped to it."""

    # The page's name in the schema, as the RealWorld spec calls it.
    schema_name = "MultipleArticlesResponse"

    def paginate_queryset(  # type: ignore[override]
        self, queryset: ArticleListing, request: Request, view: Any = None
    ) -> list:
        """Pages an ArticleListing, which fetches a page and its total count together."""
        errors: dict[str, list[str]] = {}
        values = {}
        for name, default, minimum in (("limit", DEFAULT_LIMIT, 1), ("offset", 0, 0)):
            try:
                values[name] = _query_int(request, name, default, minimum)
            except ValidationError as exc:
                errors.update(exc.detail)  # type: ignore[arg-type]
        if not errors and values["offset"] > MAX_OFFSET:
            errors["offset"] = [f"Ensure this value is less than or equal to {MAX_OFFSET}."]
        if errors:
            raise ValidationError(errors)
        limit, offset = min(values["limit"], MAX_LIMIT), values["offset"]
        page, self.count = queryset.page(offset, limit)
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

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        return [
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": "The number of articles to skip before starting to collect the "
                "result set.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"The number of articles to return; values above {MAX_LIMIT} "
                f"are treated as {MAX_LIMIT}.",
                "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
            },
        ]
