"""Field types shared by the templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from resources.models import image_url_validator


class StrictStringMixin:
    """Takes JSON strings only (DRF would turn 42 into "42"), and applies max_length to the raw
    input, so whatever the schema refuses, the API refuses too."""

    default_error_messages: dict[str, Any] = {"not_a_string": "Not a valid string."}
    max_length: int | None

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")  # type: ignore[attr-defined]
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StringField(StrictStringMixin, serializers.CharField):
    pass


class EmailField(StrictStringMixin, serializers.EmailField):
    pass


@extend_schema_field(OpenApiTypes.PASSWORD)
class PasswordField(StrictStringMixin, serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        # A password is taken exactly as typed.
        super().__init__(trim_whitespace=False, **kwargs)


def _http_url(value: str) -> None:
    # A plain function, not the URLValidator itself, so the schema keeps the pattern below
    # instead of claiming format "uri" (which the empty string is not).
    image_url_validator(value)


@extend_schema_field(
    {
        "type": "string",
        "nullable": True,
        "pattern": "^(https?://.+)?$",
        "description": "An http(s) URL of an image; null or an empty string clears it.",
    }
)
class ImageURLField(StrictStringMixin, serializers.CharField):
    """An http(s) URL, or null; an empty string (a cleared form field) means null too. (Not
    DRF's URLField: it also admits ftp, and a browser shows only web images.)"""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, validators=[_http_url], **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> str | None:
        if data == "":
            return None
        return super().run_validation(data)


class StrictQueryValueMixin:
    """A query parameter given empty is an error, as any other value out of its range, rather
    than its default (DRF reads an empty form value as absent)."""

    def get_value(self, dictionary: Any) -> Any:
        return dictionary.get(self.field_name, serializers.empty)  # type: ignore[attr-defined]


class QueryChoiceField(StrictQueryValueMixin, serializers.ChoiceField):
    pass


class QueryStringField(StrictQueryValueMixin, StringField):
    pass


class QueryIntegerField(StrictQueryValueMixin, serializers.IntegerField):
    """An integer query parameter, taken strictly: ASCII digits with an optional minus sign (no
    spaces, signs or decimals that int() would forgive)."""

    # Past 18 digits the exact value no longer matters, and int() of thousands of digits is slow.
    MAX_DIGITS = 18

    def to_internal_value(self, data: Any) -> int:
        text = str(data)
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()):
            self.fail("invalid")
        value = int(digits) if len(digits) <= self.MAX_DIGITS else 10**self.MAX_DIGITS
        return -value if text.startswith("-") else value


@extend_schema_field(
    {"type": "string", "format": "date-time", "example": "2016-02-18T03:22:56.637Z"}
)
class TimestampField(serializers.DateTimeField):
    """UTC ISO 8601 with milliseconds, always with the fraction: 2016-02-18T03:22:56.637Z."""

    def to_representation(self, value: datetime) -> str:
        value = value.astimezone(UTC)
        return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"
