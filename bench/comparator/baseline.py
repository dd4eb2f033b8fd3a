"""The baseline of the HTTP cache benchmark (bench/http_cache.py): a Django view that answers
fixed JSON bytes, as many as the API's list response has (BASELINE_BYTES), with no database, no
middleware and no work: what this machine's Django and gunicorn serve at best."""

import os

import orjson
from django.http import HttpRequest, HttpResponse

_SIZE = int(os.environ.get("BASELINE_BYTES", "16384"))
# {"payload":"xxx..."}: valid JSON of exactly _SIZE bytes.
_FRAME = len(orjson.dumps({"payload": ""}))
PAYLOAD = orjson.dumps({"payload": "x" * max(_SIZE - _FRAME, 0)})


def fixed(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAYLOAD, content_type="application/json")
