"""The tag list shape."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from serializers_templates.base import ResponseSerializer


# One object holding the list, not a list of objects (the view is a list action).
@extend_schema_serializer(many=False)
class TagsResponseSerializer(ResponseSerializer):
    tags = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        max_length=100,
        help_text="Tags in use, most used first, then by name; at most 100.",
    )
