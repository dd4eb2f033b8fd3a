"""The one exception handler: every error the API answers is `{"errors": {name: [messages]}}`.

DRF's handler runs first, so transaction rollback and headers (`WWW-Authenticate`, `Retry-After`,
`Allow`) stay as DRF sets them; this module only reshapes the body and picks the status the
contract names (422 for validation).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError, ProgrammingError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from resources.renderers import JSONRenderer

logger = logging.getLogger(__name__)

GENERAL_ERROR_KEY = "body"

# What a 404 says when a lookup finds nothing: "<Resource> not found.", one style for every
# resource, whether the view or a service (an article deleted mid-request) finds it missing.
ARTICLE_NOT_FOUND = "Article not found."
COMMENT_NOT_FOUND = "Comment not found."
PROFILE_NOT_FOUND = "Profile not found."
USER_NOT_FOUND = "User not found."


def error_body(message: str, name: str = GENERAL_ERROR_KEY) -> dict[str, dict[str, list[str]]]:
    return {"errors": {name: [message]}}


def error_response(status_code: int, message: str) -> HttpResponse:
    """An error answered outside DRF views (middleware, unknown URLs, crashes), rendered as the
    API renders every other response."""
    body = JSONRenderer().render(error_body(message))
    return HttpResponse(body, status=status_code, content_type="application/json")


def _flatten(detail: Any, name: str, out: dict[str, list[str]]) -> None:
    """Collects DRF's nested error detail into one level of names.

    A nested serializer is transparent (the `user` envelope's `email` error is named `email`);
    errors about a nested object as a whole (it is missing, or not an object) are named after it;
    errors about the body as a whole are named `body`.
    """
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                child = name
            elif isinstance(key, int):
                child = f"{name}[{key}]"
            else:
                child = str(key)
            _flatten(value, child or GENERAL_ERROR_KEY, out)
    elif isinstance(detail, list):
        for item in detail:
            _flatten(item, name, out)
    else:
        out.setdefault(name or GENERAL_ERROR_KEY, []).append(str(detail))


def errors_from_detail(detail: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    _flatten(detail, "", out)
    return out


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; try again shortly."
    default_code = "database_unavailable"


# Seconds a client should wait after a 503 before retrying.
DATABASE_RETRY_AFTER = 5


# PostgreSQL's undefined_table and undefined_column: the schema is behind the code.
_SCHEMA_MISSING = {"42P01", "42703"}


def database_unavailable(exc: Exception) -> bool:
    """The server is down, restarting or too slow (statement timeout), or its schema lacks a
    table or column the code reads (migrations not applied). SQLite reports the last as an
    OperationalError; PostgreSQL as a ProgrammingError, told apart by its SQLSTATE."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return (
        isinstance(exc, ProgrammingError)
        and getattr(exc.__cause__, "sqlstate", None) in _SCHEMA_MISSING
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if database_unavailable(exc):
        # A clear, retryable answer instead of a 500, the same whatever the database; the
        # details are logged for the operator.
        logger.warning("Database unavailable: %s", exc)
        response = drf_exception_handler(DatabaseUnavailable(), context)
        if response is not None:
            response["Retry-After"] = str(DATABASE_RETRY_AFTER)
            response.data = {"errors": errors_from_detail(DatabaseUnavailable.default_detail)}
        return response
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    detail = response.data
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        detail = detail["detail"]
    response.data = {"errors": errors_from_detail(detail)}
    return response


# --- Django's error views, used outside DRF ---------------------------------------------------


@csrf_exempt
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # CSRF-exempt like every API view: a POST to an unknown URL is a 404, not a CSRF failure.
    return error_response(status.HTTP_404_NOT_FOUND, "Not found.")


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(status.HTTP_400_BAD_REQUEST, "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(status.HTTP_403_FORBIDDEN, "Permission denied.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    # Only the session-authenticated admin checks CSRF; the API never does.
    return error_response(status.HTTP_403_FORBIDDEN, f"CSRF verification failed: {reason}")
