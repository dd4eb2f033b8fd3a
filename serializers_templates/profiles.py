"""The profile shape, top-level (`{"profile": ...}`) and nested as an article's or comment's
`author`."""

from rest_framework import serializers

from resources.models import User


class ProfileSerializer(serializers.ModelSerializer):
    """`following` is true only when the signed-in reader follows this user."""

    following = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = ["username", "bio", "image", "following"]
        read_only_fields = fields


class ProfileResponseSerializer(serializers.Serializer):
    profile = ProfileSerializer(read_only=True)
