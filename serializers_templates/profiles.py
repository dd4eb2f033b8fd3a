"""The profile shape, top-level (`{"profile": ...}`) and nested as an article's or comment's
`author`."""

from rest_framework import serializers

from resources.models import User
from serializers_templates.base import ResponseModelSerializer, ResponseSerializer


class ProfileSerializer(ResponseModelSerializer):
    """`following` is true only when the signed-in reader follows this user."""

    following = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = ["username", "bio", "image", "following"]
        read_only_fields = fields


class ProfileResponseSerializer(ResponseSerializer):
    profile = ProfileSerializer(read_only=True)
