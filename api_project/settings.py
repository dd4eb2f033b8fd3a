"""Settings for Conduit API, all read from the environment in this one module.

With nothing set, the project runs for a newcomer: SQLite file, in-process cache, DEBUG on and a
development key. With DEBUG off it is strict: it refuses to start without SECRET_KEY,
ALLOWED_HOSTS and DATABASE_URL (unless ALLOW_SQLITE=true) rather than guess.
"""

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from api_project import __version__

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off, Conduit API refuses to start without a "
            "secret key: set SECRET_KEY to a long random string (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        )
    # Development only: tokens signed with this key are worthless anywhere else.
    SECRET_KEY = "django-insecure-conduit-development-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. With DEBUG off, list the host names this API answers to, "
        "comma-separated (for example ALLOWED_HOSTS=api.example.com)."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Its sitemap templates; the feeds (django.contrib.syndication) need no app of their own.
    "django.contrib.sitemaps",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "resources",
]

METRICS_ENABLED = env_bool("METRICS_ENABLED", False)

MIDDLEWARE = [
    "resources.middleware.RequestLogMiddleware",
    *(["resources.metrics.MetricsMiddleware"] if METRICS_ENABLED else []),
    "resources.middleware.HealthProbeMiddleware",
    # ETags, 304, HEAD and the shared cache of anonymous reads (resources/conditional.py). Before
    # the middleware below: an answer from the cache skips them, and carries the headers they
    # gave it when it was stored (its key holds what those headers depend on: Origin, Host,
    # scheme). Read replicas' routing goes before it, so a read that fills the cache reads the
    # primary.
    "resources.conditional.ConditionalRequestMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "resources.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "api_project.urls"
CSRF_FAILURE_VIEW = "resources.exceptions.csrf_failure"
WSGI_APPLICATION = "api_project.wsgi.application"
AUTH_USER_MODEL = "resources.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The API has no trailing slashes, and a request for one must answer 404 JSON, not a redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

SILENCED_SYSTEM_CHECKS = [
    # User.email, the login field, is unique through the case-insensitive constraint
    # `user_email_ci_unique`, which is stricter than the unique=True this check looks for.
    "auth.E003",
    # SECURE_SSL_REDIRECT: TLS is terminated in front of the app (load balancer, ingress), which
    # redirects plain HTTP there; health probes reach the app over HTTP. Set
    # SECURE_SSL_REDIRECT=true where the app itself faces the internet.
    "security.W008",
    # HSTS includeSubDomains and preload commit every subdomain of the API's domain, a decision
    # for the domain's owner: SECURE_HSTS_INCLUDE_SUBDOMAINS=true, SECURE_HSTS_PRELOAD=true.
    "security.W005",
    "security.W021",
]

# --- Database ---------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL and not DEBUG and not env_bool("ALLOW_SQLITE", False):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. With DEBUG off, Conduit API refuses to keep its data in a "
        "SQLite file it would make by itself: set DATABASE_URL (for example "
        "postgres://conduit:...@db:5432/conduit), or ALLOW_SQLITE=true to run on db.sqlite3 "
        "next to manage.py on purpose."
    )
DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 60)


def database(url: str) -> dict[str, Any]:
    """A DATABASES entry for a URL. Connections are kept for DATABASE_CONN_MAX_AGE seconds and
    health-checked before reuse; on PostgreSQL, a runaway query is cancelled instead of holding
    a worker, and an unreachable server fails the request quickly instead of hanging it."""
    entry: dict[str, Any] = dict(
        dj_database_url.parse(url, conn_max_age=DATABASE_CONN_MAX_AGE, conn_health_checks=True)
    )
    if entry["ENGINE"] == "django.db.backends.postgresql":
        entry.setdefault("OPTIONS", {}).update(
            {
                "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5),
                "server_side_binding": env_bool("DATABASE_SERVER_SIDE_BINDING", False),
                "options": f"-c statement_timeout={env_int('DATABASE_STATEMENT_TIMEOUT_MS', 5000)}",
            }
        )
    return entry


DATABASES = {"default": database(DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}

# Read replicas (api_project/db_routers.py): read-only requests read from one of them, unless
# the reader wrote recently and no replica has replayed that write yet. DATABASE_REPLICA_URL
# names one; DATABASE_REPLICA_URLS, comma-separated, several. In tests a replica is the test
# database itself.
_replica_urls = env_list("DATABASE_REPLICA_URLS", [])
if env_str("DATABASE_REPLICA_URL"):
    if _replica_urls:
        raise ImproperlyConfigured(
            "Set DATABASE_REPLICA_URLS (comma-separated) or DATABASE_REPLICA_URL, not both."
        )
    _replica_urls = [env_str("DATABASE_REPLICA_URL")]
for _number, _url in enumerate(_replica_urls, 1):
    _alias = "replica" if _number == 1 else f"replica_{_number}"
    DATABASES[_alias] = {**database(_url), "TEST": {"MIRROR": "default"}}
if _replica_urls:
    DATABASE_ROUTERS = ["api_project.db_routers.PrimaryReplicaRouter"]
    # Right after the probes, so that everything below (and the view) runs with its routing.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("resources.middleware.HealthProbeMiddleware") + 1,
        "resources.middleware.ReadReplicaMiddleware",
    )
# A replica further behind than this is skipped, as is one that is down, for
# DATABASE_REPLICA_RETRY_SECONDS; each process checks a replica it uses every
# DATABASE_REPLICA_CHECK_SECONDS.
DATABASE_REPLICA_MAX_LAG_SECONDS = env_int("DATABASE_REPLICA_MAX_LAG_SECONDS", 30)
DATABASE_REPLICA_RETRY_SECONDS = env_int("DATABASE_REPLICA_RETRY_SECONDS", 10)
DATABASE_REPLICA_CHECK_SECONDS = env_int("DATABASE_REPLICA_CHECK_SECONDS", 5)
# How long a user's reads wait for a replica to replay their last write. A replica that passed
# its last check has replayed everything older than the lag bound plus the check interval, so
# a shorter time could send a reader to a replica that lacks their write.
DATABASE_STICKY_SECONDS = env_int("DATABASE_STICKY_SECONDS", 60)
if DATABASE_STICKY_SECONDS < DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS:
    raise ImproperlyConfigured(
        "DATABASE_STICKY_SECONDS must be at least DATABASE_REPLICA_MAX_LAG_SECONDS plus "
        "DATABASE_REPLICA_CHECK_SECONDS, or a reader could be sent to a replica without their "
        "last write."
    )

# --- Full-text search ------------------------------------------------------------------------

# The PostgreSQL text search configuration articles are indexed and searched with (stemming and
# stop words): english, simple, german, ... After changing it, run `manage.py search_reindex`.
# (SQLite's index always stems English.)
SEARCH_CONFIG = env_str("SEARCH_CONFIG", "english")
if not re.fullmatch(r"[a-z_][a-z0-9_]*", SEARCH_CONFIG):
    raise ImproperlyConfigured(
        "SEARCH_CONFIG must name a text search configuration (like english), "
        f"not {SEARCH_CONFIG!r}."
    )

# --- Cache ------------------------------------------------------------------------------------

# Redis in production: the cache and the rate-limit counts every app server shares. It holds no
# data of record, so when it is down the API keeps serving: cache calls fail open (and are
# logged), and /readyz reports it.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # Several deployments (or test runs) can share one Redis database apart.
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "conduit"),
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "conduit.cache"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "conduit",
        }
    }

# --- HTTP caching -----------------------------------------------------------------------------

# The shared cache of anonymous reads (resources/response_cache.py), off unless asked for: an
# answer headed for it is read from the primary (no replica lag may enter it), so turning it on
# moves anonymous reads off the read replicas, and writes made past the API need
# `manage.py response_cache_bump`. It needs a cache every app process shares (Redis), since each
# process's writes must make every other process's entries stale.
RESPONSE_CACHE = env_bool("RESPONSE_CACHE", False)
# How long an entry lives at most; freshness never depends on it (writes make entries stale).
RESPONSE_CACHE_SECONDS = env_int("RESPONSE_CACHE_SECONDS", 300)
# With a CDN in front: anonymous answers say `s-maxage=N`, so the CDN may serve them for N
# seconds without asking (and so for up to N seconds after a write). 0 (the default) asks the
# CDN to revalidate every time, with If-None-Match.
HTTP_CACHE_S_MAXAGE = env_int("HTTP_CACHE_S_MAXAGE", 0)

# Settings that work but lose something in production; logged at startup (resources/apps.py),
# once the logs are set up.
STARTUP_WARNINGS: list[str] = []
if not DEBUG and not REDIS_URL:
    STARTUP_WARNINGS.append(
        "REDIS_URL is not set: the cache is in-process, so rate limits (and, with read "
        "replicas, the write positions that keep read-your-writes) are kept per process, not "
        "shared by the workers and servers of this deployment. Set REDIS_URL to a Redis they "
        "all reach."
    )

# --- Public pages: feeds, sitemaps, shareable article pages ------------------------------------

# Every absolute URL in the feeds, the sitemaps and the article pages is built from this, never
# from the request's Host header (which a client chooses). With DEBUG on it defaults to the
# development server; with DEBUG off and nothing set, those routes answer 404 and a warning is
# logged at startup, so that an existing deployment keeps starting after an upgrade.
_DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"


def public_base_url(value: str) -> str:
    """PUBLIC_BASE_URL checked: an http(s) origin, optionally with a path, no query."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            "PUBLIC_BASE_URL must be the http(s) address this site is reached at, such as "
            f"https://conduit.example.com, not {value!r}."
        )
    return value.rstrip("/")


PUBLIC_BASE_URL = public_base_url(env_str("PUBLIC_BASE_URL")) if env_str("PUBLIC_BASE_URL") else ""
if not PUBLIC_BASE_URL and DEBUG:
    PUBLIC_BASE_URL = _DEVELOPMENT_BASE_URL
if not PUBLIC_BASE_URL:
    STARTUP_WARNINGS.append(
        "PUBLIC_BASE_URL is not set: the feeds (/feeds/...), the sitemaps (/sitemap.xml) and "
        "the article pages (/articles/<slug>) answer 404, because their links would have to "
        "come from the request's Host header. Set PUBLIC_BASE_URL to the address readers reach "
        "this site at (for example https://conduit.example.com)."
    )

# Where the article pages link to the article in a frontend: a URL with {slug} in it, such as
# https://app.example.com/article/{slug}. Empty: no such link.
FRONTEND_ARTICLE_URL = env_str("FRONTEND_ARTICLE_URL")
if FRONTEND_ARTICLE_URL and (
    "{slug}" not in FRONTEND_ARTICLE_URL
    or urlsplit(FRONTEND_ARTICLE_URL.replace("{slug}", "s")).scheme not in {"http", "https"}
):
    raise ImproperlyConfigured(
        "FRONTEND_ARTICLE_URL must be an http(s) URL with {slug} in it, such as "
        f"https://app.example.com/article/{{slug}}, not {FRONTEND_ARTICLE_URL!r}."
    )

# --- Authentication ---------------------------------------------------------------------------

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# Lifetime of the JWTs the API issues; a token also stops working when its user changes password.
TOKEN_LIFETIME = timedelta(seconds=env_int("TOKEN_LIFETIME_SECONDS", 7 * 24 * 3600))
TOKEN_SIGNING_KEY = env_str("TOKEN_SIGNING_KEY") or SECRET_KEY
# Each process remembers a token it verified, and its user, for this many seconds (0: never), so
# a signed-in request skips the reader's statement. A password change, deactivation or deletion
# reaches the process that made it at once, and every other one within this bound.
TOKEN_USER_CACHE_SECONDS = env_int("TOKEN_USER_CACHE_SECONDS", 5)

# --- Django REST framework and the schema -----------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["resources.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["resources.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["resources.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "resources.schema.ConduitAutoSchema",
    "EXCEPTION_HANDLER": "resources.exceptions.exception_handler",
    # Every write is rate-limited per user unless a view says otherwise (see RATE_LIMITS).
    "DEFAULT_THROTTLE_CLASSES": ["resources.throttling.UserWriteThrottle"],
    "DEFAULT_METADATA_CLASS": "resources.metadata.AllowedMethodsMetadata",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Conduit API",
    "DESCRIPTION": (
        "The RealWorld Conduit API: users, profiles and follows, articles with tags, "
        "favorites, comments and a personal feed."
    ),
    "VERSION": __version__,
    "LICENSE": {"name": "MIT License", "url": "https://opensource.org/licenses/MIT"},
    # Paths as the RealWorld spec names them (/users, /articles), below a server at /api.
    "SCHEMA_PATH_PREFIX": "/api",
    "SCHEMA_PATH_PREFIX_TRIM": True,
    "SERVERS": [{"url": "/api", "description": "This server"}],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": False,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "ENUM_NAME_OVERRIDES": {"ArticleStatus": "resources.models.ArticleStatus"},
    "TAGS": [
        {"name": "Articles", "description": "Articles, the global list and the personal feed."},
        {"name": "Comments", "description": "Comments on an article."},
        {"name": "Favorites", "description": "Favoriting and unfavoriting articles."},
        {"name": "Profile", "description": "Public profiles, following and unfollowing."},
        {"name": "Tags", "description": "The tags in use."},
        {
            "name": "User and Authentication",
            "description": "Registration, login, the signed-in user.",
        },
    ],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "resources.schema.close_response_objects",
        "resources.schema_retries.describe_retries_and_pages",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {
        "deepLinking": True,
        "persistAuthorization": True,
        "displayOperationId": True,
        # No badge fetched from validator.swagger.io: the docs work offline.
        "validatorUrl": None,
    },
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Rate limits ------------------------------------------------------------------------------

# Counted in the cache (Redis in production, so every app server shares the counts). Each can be
# set with RATE_LIMIT_<SCOPE>, e.g. RATE_LIMIT_LOGIN_ACCOUNT=5/min, or "off".
_RATE = re.compile(r"^\d+/(s|sec|m|min|h|hour|d|day)$")


def rate_limit(scope: str, default: str) -> str | None:
    name = f"RATE_LIMIT_{scope.upper()}"
    value = env_str(name, default)
    if value.lower() == "off":
        return None
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name} must look like 10/min (or be off), not {value!r}.")
    return value


RATE_LIMITS = {
    "login_ip": rate_limit("login_ip", "30/min"),
    "login_account": rate_limit("login_account", "10/min"),
    "registration_ip": rate_limit("registration_ip", "20/hour"),
    "registration_account": rate_limit("registration_account", "5/hour"),
    "write": rate_limit("write", "300/hour"),
    "article_write": rate_limit("article_write", "60/hour"),
    "comment_write": rate_limit("comment_write", "120/hour"),
    "favorite": rate_limit("favorite", "600/hour"),
    "follow": rate_limit("follow", "600/hour"),
}
# Proxies in front of the app that append to X-Forwarded-For; 0 trusts none of it.
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)

# --- Idempotency keys (resources/idempotency.py) ----------------------------------------------

# How long the first answer to an Idempotency-Key is replayed; and how long a request that
# claimed one may run before a retry may run it again (above gunicorn's timeout, which ends it).
IDEMPOTENCY_KEY_SECONDS = env_int("IDEMPOTENCY_KEY_SECONDS", 24 * 3600)
IDEMPOTENCY_LOCK_SECONDS = env_int("IDEMPOTENCY_LOCK_SECONDS", 60)

# --- CORS -------------------------------------------------------------------------------------

# Any origin by default: authentication is a header, never a cookie, so a foreign page cannot
# ride on a visitor's credentials. Set CORS_ALLOWED_ORIGINS to restrict it.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_ALL_ORIGINS = not CORS_ALLOWED_ORIGINS
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "accept",
    "x-request-id",
    "if-match",
    "if-none-match",
    "idempotency-key",
]
CORS_EXPOSE_HEADERS = [
    "x-request-id",
    "retry-after",
    "etag",
    "idempotent-replayed",
    "link",
    "ratelimit",
    "ratelimit-policy",
]
CORS_URLS_REGEX = r"^/api/.*$"

# --- HTTPS and security headers ---------------------------------------------------------------

# Behind a proxy or load balancer that terminates TLS, name the header it sets, e.g.
# SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto (Django then trusts "https" in it).
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = (f"HTTP_{_proxy_ssl_header.upper().replace('-', '_')}", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Probes and metrics are scraped over plain HTTP inside the deployment.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Sent only on responses to HTTPS requests.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Cookies exist only for the admin; off DEBUG they travel over HTTPS only.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

# --- Draining -------------------------------------------------------------------------------

# While this file exists, /readyz answers 503 (draining), so load balancers stop sending new
# requests while the server still answers the ones it gets. gunicorn.conf.py names one per
# server and creates it on SIGTERM, GUNICORN_DRAIN_SECONDS before its graceful stop; an
# operator may create it by hand to take a server out of rotation.
DRAIN_FILE = env_str("DRAIN_FILE")

# --- Request limits ---------------------------------------------------------------------------

# Bodies above this many bytes are refused with 413 before they are read.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# --- Logs -------------------------------------------------------------------------------------

# One JSON object per line on stdout: an access line per request (conduit.request), and
# warnings and errors with their request id.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "resources.json_logging.JSONFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        },
        "discard": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["stdout"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (with DEBUG on) would print each of its lines a second
        # time, unformatted: its records go to the JSON handler above only.
        "django": {"handlers": [], "propagate": True},
        # 4xx answers are in the access log already; django.request adds only server errors.
        "django.request": {"level": "ERROR"},
        # runserver's line per request: the access log (resources/middleware.py) has every
        # request already, in JSON, so one request is one line.
        "django.server": {"handlers": ["discard"], "propagate": False},
    },
}

# --- Internationalisation, static files -------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Hashed, compressed names, cached for a year, once collected (resources/staticfiles.py).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "resources.staticfiles.StaticFilesStorage"},
}
# Until `collectstatic` has filled STATIC_ROOT (the container image does it at build time),
# whitenoise serves the admin's and the API docs' assets straight from the installed apps.
WHITENOISE_USE_FINDERS = True
# Collected files are kept under their hashed names only (the plain ones come from the apps).
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
