"""HTTP caching and conditional requests (RFC 9110, 9111): entity tags, 304, If-Match, HEAD,
Cache-Control and Vary, and the shared cache of anonymous reads in front of the views."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException

from api_project import db_routers
from resources import response_cache
from resources.renderers import JSONRenderer

API_PREFIX = "/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
VARY = ("Authorization", "Origin")
# The headers of a 200 that a 304 standing for it leaves out: those of the body it does not
# send. It repeats the rest, ETag, Cache-Control and Vary among them (RFC 9110, section
# 15.4.5), and the CORS and security headers, which a browser checks on a revalidation too.
NOT_MODIFIED_OMITS = frozenset({"content-type", "content-length"})

IF_MATCH_FAILED = (
    "The resource has changed since this ETag was issued: read it again and retry with its "
    "current ETag."
)
IF_MATCH_MALFORMED = 'If-Match must be "*" or a list of quoted entity tags.'

# An entity tag, weak or strong, as it appears in a list: W/"..." or "...".
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(,|$)')


def entity_tag(body: bytes) -> str:
    """The strong entity tag of a body: a digest of its bytes, so it differs wherever the body
    does (per reader, too: `favorited` and `following` are in the body)."""
    digest = hashlib.blake2b(body, digest_size=16).digest()
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + '"'


def parse_entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """The (weak, opaque tag) pairs of an If-Match or If-None-Match value, or None when it is
    malformed. "*" is answered as [(False, "*")]."""
    if header.strip() == "*":
        return [(False, "*")]
    tags, position = [], 0
    while position < len(header):
        match = _ENTITY_TAG.match(header, position)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return tags or None


def _opaque(etag: str) -> str:
    return etag.removeprefix("W/").strip('"')


def none_match(header: str, etag: str) -> bool:
    """Whether If-None-Match names the current representation: "*", or any tag equal to it by
    weak comparison (RFC 9110, section 13.1.2). A malformed value names nothing."""
    tags = parse_entity_tags(header) or []
    current = _opaque(etag)
    return any(tag in ("*", current) for _, tag in tags)


def match(header: str, etag: str) -> bool:
    """Whether If-Match names the current representation: "*", or a strong tag equal to it by
    strong comparison (RFC 9110, section 13.1.1; a weak tag never matches)."""
    tags = parse_entity_tags(header) or []
    current = _opaque(etag)
    return any(tag == "*" or (not weak and tag == current) for weak, tag in tags)


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = IF_MATCH_FAILED
    default_code = "precondition_failed"


def rendered(data: Any) -> bytes:
    """A response body, rendered as the API renders every response (so its tag is the one the
    response will carry)."""
    return JSONRenderer().render(data)


def if_match_check(
    request: Any, representation: Callable[[Any], Any]
) -> Callable[[Any], None] | None:
    """The If-Match precondition of a write, for its service to call under the row lock with
    the locked row; None without If-Match (or with `If-Match: *`, which any existing resource
    meets), so the write goes as it always did. `representation(row)` is the response data a
    GET by this reader would answer now."""
    header = request.META.get("HTTP_IF_MATCH")
    if header is None or header.strip() == "*":
        return None
    if parse_entity_tags(header) is None:
        raise PreconditionFailed({"If-Match": [IF_MATCH_MALFORMED]})

    def check(row: Any) -> None:
        if not match(header, entity_tag(rendered(representation(row)))):
            raise PreconditionFailed({"If-Match": [IF_MATCH_FAILED]})

    return check


def cache_control(request: HttpRequest) -> str:
    if "HTTP_AUTHORIZATION" in request.META:
        return "private, no-cache"
    s_maxage = settings.HTTP_CACHE_S_MAXAGE
    return f"public, no-cache, s-maxage={s_maxage}" if s_maxage else "public, no-cache"


def _not_modified_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() not in NOT_MODIFIED_OMITS]


def _not_modified(headers: Iterable[tuple[str, str]]) -> HttpResponse:
    answer = HttpResponseNotModified()
    for name, value in _not_modified_headers(headers):
        answer[name] = value
    return answer


def cached_answer(
    meta: Mapping[str, Any], entry: response_cache.Entry
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The status, headers and body an entry of the shared cache answers a request with, from
    the request's WSGI environ: a 304 when If-None-Match names the entry's tag, the headers
    alone for HEAD, else the stored 200. Neither a 304 nor a HEAD copies the body."""
    if_none_match = meta.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None and none_match(if_none_match, entry.etag):
        return status.HTTP_304_NOT_MODIFIED, _not_modified_headers(entry.headers), b""
    body = b"" if meta.get("REQUEST_METHOD") == "HEAD" else entry.body
    return status.HTTP_200_OK, list(entry.headers), body


class ConditionalRequestMiddleware:
    """For paths under /api/:

    - every 200 or 201 answer with a body gets a strong ETag (also write answers: the ETag a
      GET would answer right after);
    - a GET or HEAD answered 200 gets Cache-Control and Vary, and a 304 when If-None-Match
      names its tag;
    - HEAD answers like GET, without the body;
    - anonymous reads come from the shared cache (resources/response_cache.py) when it is on,
      and every request that may write bumps its version before its answer leaves.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            response = self.get_response(request)
        elif response_cache.enabled() and response_cache.covers(request.META):
            response = self._through_cache(request)
        else:
            response = self._finish(request, self.get_response(request))
        if request.method not in SAFE_METHODS and response_cache.enabled():
            # Whatever the answer: a failed request may have written part of its work.
            response_cache.bump_version()
        return response

    def _through_cache(self, request: HttpRequest) -> HttpResponse:
        if response_cache.LOOKUP_ENVIRON_KEY in request.META:
            # Looked up already, by the WSGI application in front (resources/cached_reads.py).
            found = request.META.pop(response_cache.LOOKUP_ENVIRON_KEY)
        else:
            found = response_cache.lookup(request.META)
        if found is None:
            return self._finish(request, self.get_response(request))
        version, digest, entry = found
        if entry is not None:
            status_code, headers, body = cached_answer(request.META, entry)
            response = (
                HttpResponseNotModified()
                if status_code == status.HTTP_304_NOT_MODIFIED
                else HttpResponse(body, status=status_code)
            )
            for name, value in headers:
                response[name] = value
            return response
        # The version was read before the database is: see resources/response_cache.py. Read
        # from the primary, so no replica's lag is kept in the cache.
        db_routers.read_from_primary()
        response = self.get_response(request)
        self._tag(response)
        if (
            response.status_code == status.HTTP_200_OK
            and "ETag" in response
            and not response.streaming
            and not response.cookies
        ):
            self._finish_cacheable(request, response)
            # HEAD answers from the entry carry the body's length.
            response["Content-Length"] = str(len(response.content))
            response_cache.entry_set(
                digest,
                response_cache.Entry(
                    version=version,
                    etag=response["ETag"],
                    headers=tuple(response.items()),
                    body=response.content,
                ),
            )
        return self._finish(request, response)

    def _tag(self, response: HttpResponse) -> None:
        if (
            response.status_code in (status.HTTP_200_OK, status.HTTP_201_CREATED)
            and not response.streaming
            and "ETag" not in response
            and response.content
        ):
            response["ETag"] = entity_tag(response.content)

    def _finish_cacheable(self, request: HttpRequest, response: HttpResponse) -> None:
        response["Cache-Control"] = cache_control(request)
        patch_vary_headers(response, VARY)

    def _finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        self._tag(response)
        if request.method not in ("GET", "HEAD") or response.status_code != status.HTTP_200_OK:
            return response
        self._finish_cacheable(request, response)
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if (
            if_none_match is not None
            and "ETag" in response
            and none_match(if_none_match, response["ETag"])
        ):
            return _not_modified(response.items())
        if request.method == "HEAD" and not response.streaming:
            # The length the GET's body has; the body itself is not sent.
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response


# --- The contract (drf-spectacular, through resources/schema.py) ------------------------------

# The writes that honour If-Match, by operation id.
IF_MATCH_OPERATIONS = frozenset({"UpdateArticle", "DeleteArticle", "UpdateCurrentUser"})

IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="ETags of representations the client holds (`*`, or a comma-separated list; "
    "`W/` tags compare weakly): when one is current, the answer is 304 without a body.",
)
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="Write only if the resource is still as read: the ETag of its GET by the same "
    "reader (or `*`). A stale one gets 412 and nothing is written. Without it, the write "
    "goes ahead as before.",
)
_STRING = {"schema": {"type": "string"}}
ETAG_HEADER = {
    "ETag": {
        "description": "Strong entity tag of this body (per reader), for If-None-Match and "
        "If-Match.",
        **_STRING,
    }
}
READ_HEADERS = {
    **ETAG_HEADER,
    "Cache-Control": {
        "description": "`private, no-cache` with Authorization, `public, no-cache` without "
        "(plus `s-maxage` where the server is configured for a CDN).",
        **_STRING,
    },
    "Vary": {"description": "Includes `Authorization` and `Origin`.", **_STRING},
}


def describe_responses(method: str, responses: dict[str, Any]) -> None:
    """Adds the caching headers to an operation's success answers, and its 304."""
    for code in ("200", "201"):
        if code in responses and "content" in responses[code]:
            headers = READ_HEADERS if method == "GET" else ETAG_HEADER
            responses[code]["headers"] = {**responses[code].get("headers", {}), **headers}
    if method == "GET":
        responses["304"] = {
            "description": "Not modified: `If-None-Match` names the current ETag. No body.",
            "headers": READ_HEADERS,
        }
        ordered = sorted(responses.items())
        responses.clear()
        responses.update(ordered)
