"""The error shape every non-2xx response has."""

from rest_framework import serializers


class GenericErrorModelSerializer(serializers.Serializer):
    # Declared fields are taken off the class, so this does not shadow Serializer.errors.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        read_only=True,
        help_text='Messages by the name of the field they concern, or "body" for the request '
        "as a whole.",
    )
