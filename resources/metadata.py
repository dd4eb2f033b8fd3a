"""What a plain OPTIONS request answers (CORS preflights are answered by the CORS middleware)."""

from typing import Any

from rest_framework.metadata import BaseMetadata
from rest_framework.request import Request


class AllowedMethodsMetadata(BaseMetadata):
    """The methods a URL answers, as in its `Allow` header. Request and response shapes are
    described by the OpenAPI schema at /api/schema, not here."""

    def determine_metadata(self, request: Request, view: Any) -> dict[str, Any]:
        return {"name": view.get_view_name(), "methods": view.allowed_methods}
