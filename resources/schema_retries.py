"""The schema of idempotent retries, cursor pages and rate-limit headers: a postprocessing hook
(SPECTACULAR_SETTINGS) that adds to every operation what the view mixins and the paginator do
for it, since drf-spectacular sees neither mixins nor headers.

- every POST: the `Idempotency-Key` header, the 409 for a retry while the first request runs,
  and `Idempotent-Replayed` on the answers that are kept (resources/idempotency.py);
- every list: the `Link` header naming the next page (resources/pagination.py);
- every rate-limited operation (those that can answer 429): `RateLimit-Policy` and `RateLimit`
  (resources/throttling.py).
"""

from __future__ import annotations

from typing import Any

from resources.idempotency import (
    IDEMPOTENCY_HEADER,
    IN_FLIGHT_RETRY_AFTER,
    REPLAYED_HEADER,
)
from resources.pagination import LINK_HELP

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": IDEMPOTENCY_HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "description": "Makes a retry safe: the first answer to a key (2xx or 4xx; a 5xx is not "
    "kept) is replayed, with `Idempotent-Replayed: true`, to every request with the same key "
    "and the same body for 24 hours, and the request runs once. Keys belong to the signed-in "
    "user (for registration and login, to the client's address). 1 to 255 printable ASCII "
    "characters; a UUID is a good key. The same key with another body or path is a 422; while "
    "the first request runs, a 409.",
    "examples": {"A UUID": {"value": "9b2f8a5e-3c1d-4e7a-b6f0-2d8c4a1e5f93"}},
}
REPLAYED_HEADER_OBJECT = {
    "description": "`true` when this is the kept answer to an earlier request with the same "
    "Idempotency-Key (absent otherwise).",
    "schema": {"type": "string", "enum": ["true"]},
}
KEY_INVALID_DESCRIPTION = (
    "The Idempotency-Key is not 1 to 255 printable ASCII characters, or was already used for a "
    "different request."
)
IN_FLIGHT_DESCRIPTION = (
    "A request with the same Idempotency-Key is still running; retry after `Retry-After` "
    "seconds to get its answer."
)
STORE_DOWN_DESCRIPTION = (
    "The database is unreachable or too slow, or the store of idempotency keys is (a request "
    "with an Idempotency-Key is then not run); retry after `Retry-After` seconds."
)
RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "example": IN_FLIGHT_RETRY_AFTER},
}
LINK_HEADER = {"description": LINK_HELP, "schema": {"type": "string"}}
RATE_LIMIT_HEADERS = {
    "RateLimit-Policy": {
        "description": "The limits this request counts against (draft-ietf-httpapi-ratelimit-"
        'headers-09): one `"<name>";q=<quota>;w=<window seconds>` each.',
        "schema": {"type": "string", "example": '"write";q=300;w=3600'},
    },
    "RateLimit": {
        "description": 'What remains of each: `"<name>";r=<remaining>;t=<seconds until it '
        "resets>`.",
        "schema": {"type": "string", "example": '"write";r=299;t=1800'},
    },
}
# The answers a view gives itself, which an idempotency key keeps and a rate limit counts.
_VIEW_ERRORS = ("400", "403", "404", "415", "422")


def _error_response(description: str, headers: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/GenericErrorModel"}}
        },
        "description": description,
        "headers": headers,
    }


def _view_answers(responses: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        response
        for code, response in responses.items()
        if code.startswith("2") or code in _VIEW_ERRORS
    ]


def _header(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def describe_retries_and_pages(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: see the module's docstring. Each header is described once, in
    components, and referred to; the parameter is given in full, as every other is."""
    headers = result.setdefault("components", {}).setdefault("headers", {})
    headers.update(
        {REPLAYED_HEADER: REPLAYED_HEADER_OBJECT, "Link": LINK_HEADER, **RATE_LIMIT_HEADERS}
    )
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.get("responses", {})
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
                # A POST without a body or parameters can still get a 422, for its key.
                responses.setdefault("422", _error_response(KEY_INVALID_DESCRIPTION, {}))
                for response in _view_answers(responses):
                    response.setdefault("headers", {})[REPLAYED_HEADER] = _header(REPLAYED_HEADER)
                responses["409"] = _error_response(
                    IN_FLIGHT_DESCRIPTION, {"Retry-After": RETRY_AFTER}
                )
                if "503" in responses:
                    responses["503"]["description"] = STORE_DOWN_DESCRIPTION
                operation["responses"] = dict(sorted(responses.items()))
            ok = responses.get("200", {})
            schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").endswith("/MultipleArticlesResponse"):
                ok.setdefault("headers", {})["Link"] = _header("Link")
            if "429" in responses:
                for response in [*_view_answers(responses), responses["429"]]:
                    response.setdefault("headers", {}).update(
                        {name: _header(name) for name in RATE_LIMIT_HEADERS}
                    )
    return result
