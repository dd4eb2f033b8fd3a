"""How drf-spectacular describes the API: the Token scheme, the error answers every operation can
give, and closed response objects, so generated clients know every shape exactly."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from resources import conditional
from resources.permissions import IsAuthorOrReadOnly
from resources.throttling import CacheCounterThrottle
from serializers_templates.errors import GenericErrorModelSerializer

AUTH_SCHEME_DESCRIPTION = (
    "A JWT from `POST /users` or `POST /users/login`, sent in the Authorization header as "
    "`Token <jwt>` (`Bearer <jwt>` is accepted too). In Swagger UI's Authorize dialog, enter "
    "`Token ` followed by the token. Tokens expire, and stop working when their user changes "
    "password."
)

SUCCESS_DESCRIPTIONS = {"200": "OK", "201": "Created", "204": "No content"}

ERROR_HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Token`.",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    },
}
ERROR_HEADERS[503] = ERROR_HEADERS[429]

ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON (or is not UTF-8, nests too deeply, or is badly chunked).",
    401: "The token is missing (where one is required), malformed, expired or revoked.",
    403: "Only the author may change or delete this.",
    404: "No such resource.",
    411: "A body without `Content-Length` (chunked), on a server that cannot read one so.",
    413: "The body is larger than the configured limit (1 MB by default).",
    415: "The body is not `application/json`.",
    412: "`If-Match` names no current ETag of the resource: it changed since it was read.",
    422: "A parameter or field is invalid; each is named with its messages.",
    429: "Too many requests; retry after the number of seconds in `Retry-After`.",
    503: "The database is unreachable or too slow; retry after `Retry-After` seconds.",
}


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "resources.authentication.JWTAuthentication"
    name = "Token"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": AUTH_SCHEME_DESCRIPTION,
        }


class ConduitAutoSchema(AutoSchema):
    """Adds to each operation the error answers it can give, each with the errors body."""

    def get_paginated_name(self, serializer_name: str) -> str:
        # The paginator names its envelope as the RealWorld spec does (MultipleArticlesResponse).
        return getattr(self._get_paginator(), "schema_name", None) or super().get_paginated_name(
            serializer_name
        )

    def get_operation(self, *args: Any, **kwargs: Any) -> dict | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is not None and "security" not in operation:
            # Said outright (an operation with `auth=[]`, such as login), so that a client
            # generator does not fall back on a global requirement or ask for a token.
            operation["security"] = []
        return operation

    def get_override_parameters(self) -> list[Any]:
        # The conditional request headers (resources/conditional.py), as header parameters.
        parameters = list(super().get_override_parameters())
        if self.method == "GET":
            parameters.append(conditional.IF_NONE_MATCH_PARAMETER)
        if self.get_operation_id() in conditional.IF_MATCH_OPERATIONS:
            parameters.append(conditional.IF_MATCH_PARAMETER)
        return parameters

    def error_statuses(self) -> list[int]:
        has_body = self.method in ("POST", "PUT") and self.get_request_serializer() is not None
        has_query = any(p.get("in") == "query" for p in self._get_parameters())
        statuses = [401, 503]
        if has_body:
            statuses += [400, 411, 413, 415, 422]
        elif has_query:
            statuses.append(422)
        if self.method in ("PUT", "DELETE") and any(
            isinstance(p, IsAuthorOrReadOnly) for p in self.view.get_permissions()
        ):
            statuses.append(403)
        if "{" in self.path:
            statuses.append(404)
        if self.get_operation_id() in conditional.IF_MATCH_OPERATIONS:
            statuses.append(412)
        if any(
            isinstance(t, CacheCounterThrottle) and t.applies_to(self.method)
            for t in self.view.get_throttles()
        ):
            statuses.append(429)
        return sorted(statuses)

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, response in responses.items():
            if not response.get("description"):
                response["description"] = SUCCESS_DESCRIPTIONS.get(code, "")
        for status in self.error_statuses():
            error = OpenApiResponse(GenericErrorModelSerializer, ERROR_DESCRIPTIONS[status])
            response = responses.setdefault(
                str(status), self._get_response_for_code(error, str(status))
            )
            if status in ERROR_HEADERS:
                response["headers"] = ERROR_HEADERS[status]
        if direction == "response":
            conditional.describe_responses(self.method, responses)
        return responses


def close_response_objects(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: response shapes (components whose properties are all read-only)
    admit no undocumented keys. Request shapes stay open: unknown keys are ignored there."""
    for schema in result.get("components", {}).get("schemas", {}).values():
        properties = schema.get("properties")
        if properties and all(p.get("readOnly") for p in properties.values()):
            schema["additionalProperties"] = False
    return result
