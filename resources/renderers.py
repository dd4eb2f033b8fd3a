"""The JSON response renderer."""

from typing import Any

import orjson
from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """Renders with orjson: the same JSON as DRF's renderer, several times faster."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        # Lazy translation strings (some of DRF's messages) are rendered as text.
        return orjson.dumps(data, default=str)
