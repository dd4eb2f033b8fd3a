"""The base of every response template: DRF's own output, rendered from a field list made once.

DRF's `to_representation` looks each field's attribute up and converts it through several
layers of generic calls, for every field of every row. Response templates are read-only and
fixed, so what to do per field (which attribute or key, which conversion) is worked out once per
serializer class and applied in a tight loop: the same JSON, several times faster on a page of
articles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter, itemgetter
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

# A response field: its name in the JSON, how to read its value from an object and from a
# mapping, and how to convert a present (non-null) value.
FieldReader = tuple[str, Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]


def _converter(field: serializers.Field) -> Callable[[Any], Any]:
    """The conversion DRF would apply to a present (non-null) value, without its overhead."""
    if isinstance(field, serializers.BaseSerializer):
        return field.to_representation
    if isinstance(field, serializers.BooleanField):
        return bool
    if isinstance(field, serializers.IntegerField):
        return int
    if type(field) is serializers.CharField:
        return str
    if isinstance(field, serializers.ListField) and type(field.child) is serializers.CharField:
        return lambda values: [None if v is None else str(v) for v in values]
    return field.to_representation


# The classes below carry comments, not docstrings: drf-spectacular would show an inherited
# docstring as the description of every response shape.


# For read-only response serializers: `to_representation` from field readers made once per class
# (so a request builds no fields at all: ModelSerializer would introspect the model each time).
class ResponseTemplateMixin:
    def _field_readers(self) -> list[FieldReader]:
        readers: list[FieldReader] = []
        for field in self._readable_fields:  # type: ignore[attr-defined]
            source = field.source_attrs or [field.field_name]
            if len(source) != 1:
                raise ImproperlyConfigured(
                    f"{type(self).__name__}.{field.field_name} has source={field.source!r}: a "
                    "response template reads one attribute or key per field. Nest a serializer "
                    "for the related object, or annotate the value in resources/querysets.py."
                )
            (name,) = source
            readers.append(
                (field.field_name, attrgetter(name), itemgetter(name), _converter(field))
            )
        return readers

    def to_representation(self, instance: Any) -> dict[str, Any]:
        cls = type(self)
        readers = cls.__dict__.get("_readers")
        if readers is None:
            # Each class its own: a subclass may show fewer fields than its parent.
            readers = self._field_readers()
            cls._readers = readers  # type: ignore[attr-defined]
        by_key = isinstance(instance, Mapping)
        out = {}
        for name, by_attribute, by_item, convert in readers:
            value = by_item(instance) if by_key else by_attribute(instance)
            out[name] = None if value is None else convert(value)
        return out


# An envelope or other response shape, built from a dict or an object.
class ResponseSerializer(ResponseTemplateMixin, serializers.Serializer):
    pass


# A response shape of a model.
class ResponseModelSerializer(ResponseTemplateMixin, serializers.ModelSerializer):
    pass
