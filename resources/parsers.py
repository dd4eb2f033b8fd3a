"""The JSON request parser."""

from typing import Any

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """Parses with orjson, which is strict where the standard library is lenient or fragile:
    invalid UTF-8, lone surrogates, NaN and Infinity, and nesting past 1024 levels are
    refused with a 400 instead of reaching the database or the recursion limit."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
