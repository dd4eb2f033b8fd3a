"""HTTP caching and conditional requests (RFC 9110, 9111): entity tags, 304, If-Match, HEAD,
Cache-Control and Vary, and the shared cache of anonymous reads in front of the views."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from rest_framework import status
from rest_framework.exceptions import APIException

from api_project import db_routers
from resources import response_cache
from resources.renderers import JSONRenderer

API_PREFIX = "/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
VARY = ("Authorization", "Origin")
# The headers a 304 repeats from the 200 it stands for (RFC 9110, section 15.4.5).
NOT_MODIFIED_HEADERS = ("ETag", "Cache-Control", "Vary")

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


def _not_modified(response: HttpResponse) -> HttpResponse:
    answer = HttpResponseNotModified()
    for name in NOT_MODIFIED_HEADERS:
        if name in response:
            answer[name] = response[name]
    return answer


class ConditionalRequestMiddleware:
    """The last middleware before the views, for paths under /api/:

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
        elif response_cache.enabled() and response_cache.covers(request):
            response = self._through_cache(request)
        else:
            response = self._finish(request, self.get_response(request))
        if request.method not in SAFE_METHODS and response_cache.enabled():
            # Whatever the answer: a failed request may have written part of its work.
            response_cache.bump_version()
        return response

    def _through_cache(self, request: HttpRequest) -> HttpResponse:
        version = response_cache.current_version()
        if version is None:
            return self._finish(request, self.get_response(request))
        key = response_cache.entry_key(version, request)
        entry = response_cache.entry_get(key)
        if entry is None:
            # The version was read before the database is: see resources/response_cache.py.
            # Read from the primary, so no replica's lag is kept in the cache.
            db_routers.read_from_primary()
            response = self.get_response(request)
            self._tag(response)
            if response.status_code == status.HTTP_200_OK and "ETag" in response:
                entry = response_cache.Entry(
                    etag=response["ETag"], headers=tuple(response.items()), body=response.content
                )
                response_cache.entry_set(key, entry)
            return self._finish(request, response)
        response = HttpResponse(entry.body, status=status.HTTP_200_OK)
        for name, value in entry.headers:
            response[name] = value
        return self._finish(request, response)

    def _tag(self, response: HttpResponse) -> None:
        if (
            response.status_code in (status.HTTP_200_OK, status.HTTP_201_CREATED)
            and not response.streaming
            and "ETag" not in response
            and response.content
        ):
            response["ETag"] = entity_tag(response.content)

    def _finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        self._tag(response)
        if request.method not in ("GET", "HEAD") or response.status_code != status.HTTP_200_OK:
            return response
        response["Cache-Control"] = cache_control(request)
        patch_vary_headers(response, VARY)
        if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
        if (
            if_none_match is not None
            and "ETag" in response
            and none_match(if_none_match, response["ETag"])
        ):
            return _not_modified(response)
        if request.method == "HEAD" and not response.streaming:
            # The length the GET's body has; the body itself is not sent.
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response
