"""The tag list shape."""

from rest_framework import serializers

from serializers_templates.base import ResponseSerializer


class TagsResponseSerializer(ResponseSerializer):
    tags = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        max_length=100,
        help_text="Tags in use, most used first, then by name; at most 100.",
    )
