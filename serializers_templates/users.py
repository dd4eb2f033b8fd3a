"""The user shapes: registration, login and update requests, and the signed-in user."""

from typing import Any

from rest_framework import serializers

from resources.models import EMAIL_MAX_LENGTH, USERNAME_MAX_LENGTH, User, username_validator
from serializers_templates.base import ResponseModelSerializer, ResponseSerializer
from serializers_templates.fields import EmailField, ImageURLField, PasswordField, StringField

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256
BIO_MAX_LENGTH = 10_000


class UserSerializer(ResponseModelSerializer):
    """The signed-in user, with a token to send as `Authorization: Token <token>`."""

    token = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["email", "token", "username", "bio", "image"]
        read_only_fields = fields


class NewUserSerializer(serializers.Serializer):
    username = StringField(max_length=USERNAME_MAX_LENGTH, validators=[username_validator])
    email = EmailField(max_length=EMAIL_MAX_LENGTH)
    password = PasswordField(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class LoginUserSerializer(serializers.Serializer):
    # No format check on the email: a malformed one is simply wrong credentials.
    email = StringField(max_length=EMAIL_MAX_LENGTH)
    password = PasswordField(max_length=PASSWORD_MAX_LENGTH)


class UpdateUserSerializer(serializers.Serializer):
    """Every field is optional; at least one must be given."""

    email = EmailField(max_length=EMAIL_MAX_LENGTH, required=False)
    username = StringField(
        max_length=USERNAME_MAX_LENGTH, validators=[username_validator], required=False
    )
    password = PasswordField(
        min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH, required=False
    )
    bio = StringField(max_length=BIO_MAX_LENGTH, allow_blank=True, allow_null=True, required=False)
    image = ImageURLField(max_length=User._meta.get_field("image").max_length, required=False)

    def validate_bio(self, value: str | None) -> str:
        return value or ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give at least one field to update.")
        return attrs


class UserResponseSerializer(ResponseSerializer):
    user = UserSerializer(read_only=True)


class NewUserRequestSerializer(serializers.Serializer):
    user = NewUserSerializer()


class LoginUserRequestSerializer(serializers.Serializer):
    user = LoginUserSerializer()


class UpdateUserRequestSerializer(serializers.Serializer):
    user = UpdateUserSerializer()
