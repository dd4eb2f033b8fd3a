"""The comment shapes."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from resources.models import COMMENT_MAX_LENGTH, Comment
from serializers_templates.base import ResponseModelSerializer, ResponseSerializer
from serializers_templates.fields import StringField, TimestampField
from serializers_templates.profiles import ProfileSerializer


class CommentSerializer(ResponseModelSerializer):
    bodyHtml = serializers.CharField(
        source="body_html",
        read_only=True,
        help_text="The body's Markdown as sanitized HTML, rendered when it was written.",
    )
    createdAt = TimestampField(source="created_at", read_only=True)
    updatedAt = TimestampField(source="updated_at", read_only=True)
    author = ProfileSerializer(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "createdAt", "updatedAt", "body", "bodyHtml", "author"]
        read_only_fields = fields


class NewCommentSerializer(serializers.Serializer):
    body = StringField(max_length=COMMENT_MAX_LENGTH)


class SingleCommentResponseSerializer(ResponseSerializer):
    comment = CommentSerializer(read_only=True)


# One object holding the list, not a list of objects (the view is a list action).
@extend_schema_serializer(many=False)
class MultipleCommentsResponseSerializer(ResponseSerializer):
    comments = CommentSerializer(many=True, read_only=True, help_text="Oldest first.")


class NewCommentRequestSerializer(serializers.Serializer):
    comment = NewCommentSerializer()
