"""The API's documentation pages (Swagger UI and ReDoc), served to work with no internet."""

from collections.abc import Callable
from functools import wraps
from typing import Any

# The pages load everything from this server (drf-spectacular-sidecar assets); this policy makes
# the browser refuse anything else, such as the image ReDoc's footer links to.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'"
)


def offline_docs(view: Callable[..., Any]) -> Callable[..., Any]:
    """The docs page `view` answers, with the policy that keeps it to this server."""

    @wraps(view)
    def docs_page(request: Any, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    return docs_page
