"""Middleware that guards the API before any view runs."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework import status

from resources.exceptions import error_response


class BodySizeLimitMiddleware:
    """Refuses a body larger than MAX_REQUEST_BODY_BYTES with 413 from its Content-Length,
    before reading a byte of it. (DRF parsers read the stream directly, past Django's own
    DATA_UPLOAD_MAX_MEMORY_SIZE check.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = settings.MAX_REQUEST_BODY_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            return error_response(status.HTTP_400_BAD_REQUEST, "Invalid Content-Length header.")
        if int(length) > self.limit:
            return error_response(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"Request body is larger than the limit of {self.limit} bytes.",
            )
        return self.get_response(request)
