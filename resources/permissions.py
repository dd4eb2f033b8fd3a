"""Object-level permissions: who may change what."""

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class IsAuthorOrReadOnly(BasePermission):
    """Anyone may read; only the object's author may change or delete it."""

    message = "Only the author may change or delete this."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user.is_authenticated and obj.author_id == request.user.pk)
