"""Production settings with features switched off, to measure what each costs (bench/features.py);
never for serving. BENCH_WITHOUT names them, comma-separated:

- request_log: the request id and JSON access-log middleware;
- rate_limits: the default throttle (the one on reads and article writes);
- admin_middleware: sessions, CSRF, authentication and messages middleware, which only the admin
  uses (the API authenticates by header, and its views are exempt from CSRF).
"""

import os

from api_project import settings as production

# Every setting of production (settings are the upper-case names), then the changes.
globals().update({name: value for name, value in vars(production).items() if name.isupper()})

FEATURES = {
    "request_log": ["resources.middleware.RequestLogMiddleware"],
    "admin_middleware": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ],
    "rate_limits": [],
}
WITHOUT = [name for name in os.environ.get("BENCH_WITHOUT", "").split(",") if name]
for name in WITHOUT:
    if name not in FEATURES:
        raise ValueError(f"BENCH_WITHOUT: unknown feature {name!r}; known: {sorted(FEATURES)}")

MIDDLEWARE = [
    entry for entry in production.MIDDLEWARE if not any(entry in FEATURES[name] for name in WITHOUT)
]
REST_FRAMEWORK = {
    **production.REST_FRAMEWORK,
    **({"DEFAULT_THROTTLE_CLASSES": []} if "rate_limits" in WITHOUT else {}),
}
# The admin's checks ask for the middleware taken out above.
SILENCED_SYSTEM_CHECKS = [
    *production.SILENCED_SYSTEM_CHECKS,
    *(["admin.E408", "admin.E409", "admin.E410"] if "admin_middleware" in WITHOUT else []),
]
