"""Fixtures shared by the whole suite: API clients, users with known passwords, query budgets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from resources.authentication import forget_verified_tokens
from resources.models import User
from tests import recipes
from tests.clients import client_for, http_client
from tests.tools import RedisSpace, redis_space


@pytest.fixture(autouse=True)
def _fresh_cache(settings) -> Iterator[None]:
    # Rate-limit counters live in the cache: each test starts with an empty in-process cache of
    # its own, even where REDIS_URL names a developer's Redis. Tests of Redis use `redis`.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}
    }
    cache.clear()
    # The shared response cache is off unless a test turns it on (tests/test_response_cache.py):
    # tests write rows directly, past the API, which no cache could know about.
    settings.RESPONSE_CACHE = False
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_verified_tokens() -> Iterator[None]:
    # A process remembers the tokens it verified (resources/authentication.py); a test's rows
    # are rolled back without the signals that would make it forget them, so each test starts
    # with none, and statements are counted the same whatever ran before.
    forget_verified_tokens()
    yield
    forget_verified_tokens()


@pytest.fixture(autouse=True)
def _static_files_by_plain_name(settings) -> None:
    # The live server serves static files from the installed apps, never from STATIC_ROOT, so
    # pages must name them plainly even where `collectstatic` has filled STATIC_ROOT with hashed
    # names. tests/test_deploy.py checks the collected files themselves.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def redis() -> Iterator[RedisSpace]:
    """A key prefix of the test's own in the test Redis database (CONDUIT_TEST_REDIS_URL)."""
    with redis_space() as space:
        yield space


# Where the feeds, sitemaps and article pages say the site is (PUBLIC_BASE_URL) in the tests.
PUBLIC_BASE_URL = "https://conduit.example"


@pytest.fixture
def public_site(settings) -> str:
    """PUBLIC_BASE_URL set, FRONTEND_ARTICLE_URL not; answers the base URL."""
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.FRONTEND_ARTICLE_URL = ""
    return PUBLIC_BASE_URL


@pytest.fixture
def api() -> APIClient:
    return http_client()


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    def make(**fields) -> User:
        return recipes.user.make(password=recipes.password_hash(), **fields)

    return make


@pytest.fixture
def user(make_user) -> User:
    return make_user(username="jake", email="jake@jake.jake", bio="I work at statefarm")


@pytest.fixture
def other_user(make_user) -> User:
    return make_user(username="jane", email="jane@example.com", bio="")


@pytest.fixture
def user_api(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    return client_for(other_user)


_TRANSACTION_CONTROL = re.compile(
    r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT|BEGIN)\b"
)


class QueryLog:
    def __init__(self, context: CaptureQueriesContext) -> None:
        self._context = context

    @property
    def statements(self) -> list[str]:
        """The statements that read or write data; transaction control (which depends on
        whether the test itself runs inside a transaction) is left out."""
        return [
            q["sql"]
            for q in self._context.captured_queries
            if not _TRANSACTION_CONTROL.match(q["sql"])
        ]


@pytest.fixture
def query_budget() -> Callable[..., AbstractContextManager[QueryLog]]:
    """`with query_budget(3): ...` fails unless exactly 3 data statements run inside. Tokens
    are verified afresh inside (the reader's statement counted), unless `warm=True` keeps
    those this process verified before (see resources/authentication.py)."""

    @contextmanager
    def budget(expected: int, *, warm: bool = False) -> Iterator[QueryLog]:
        if not warm:
            forget_verified_tokens()
        with CaptureQueriesContext(connection) as context:
            log = QueryLog(context)
            yield log
        statements = log.statements
        listing = "\n".join(f"{n}. {sql}" for n, sql in enumerate(statements, 1))
        assert len(statements) == expected, (
            f"expected {expected} statements, ran {len(statements)}:\n{listing}"
        )

    return budget
