"""Concurrent writers with the same If-Match on PostgreSQL: exactly one wins, the others get
412, whatever the timing (the precondition is checked under the row lock)."""

from functools import partial

import pytest
from django.db import connection

from resources.models import Article, User
from tests import recipes
from tests.clients import client_for
from tests.test_concurrency import REPETITIONS, THREADS, at_once, statuses

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs one writer at a time; concurrency is checked on PostgreSQL",
    ),
]


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS)


def test_editors_with_the_same_etag_cannot_both_update_an_article():
    author = recipes.user.make()
    for _ in range(REPETITIONS):
        article = recipes.article.make(author=author)
        path = f"/api/articles/{article.slug}"
        clients = [client_for(author) for _ in range(THREADS)]
        etag = clients[0].get(path)["ETag"]

        responses = at_once(
            [
                partial(
                    c.put,
                    path,
                    {"article": {"description": f"Edit {n}"}},
                    format="json",
                    HTTP_IF_MATCH=etag,
                )
                for n, c in enumerate(clients)
            ]
        )

        assert statuses(responses) == {200, 412}
        winners = [n for n, r in enumerate(responses) if r.status_code == 200]
        assert len(winners) == 1
        assert Article.objects.get(pk=article.pk).description == f"Edit {winners[0]}"
        assert responses[winners[0]]["ETag"] == clients[0].get(path)["ETag"]


def test_an_update_and_a_delete_with_the_same_etag_cannot_both_win():
    author = recipes.user.make()
    for _ in range(REPETITIONS):
        article = recipes.article.make(author=author)
        path = f"/api/articles/{article.slug}"
        clients = [client_for(author) for _ in range(THREADS)]
        etag = clients[0].get(path)["ETag"]
        actions = [
            partial(c.delete, path, HTTP_IF_MATCH=etag)
            if n % 2
            else partial(
                c.put, path, {"article": {"body": f"Body {n}"}}, format="json", HTTP_IF_MATCH=etag
            )
            for n, c in enumerate(clients)
        ]

        responses = at_once(actions)

        codes = [r.status_code for r in responses]
        assert set(codes) <= {200, 204, 404, 412}
        assert sum(code in (200, 204) for code in codes) == 1
        deleted = 204 in codes
        assert Article.objects.filter(pk=article.pk).exists() is not deleted


def test_two_sessions_of_one_user_with_the_same_etag_cannot_both_update_it():
    user = recipes.user.make()
    # Each writer writes a bio nobody wrote before: a write that changes nothing keeps the
    # ETag, and would rightly let the next writer with that ETag through.
    for repetition in range(REPETITIONS):
        clients = [client_for(user) for _ in range(THREADS)]
        etags = [c.get("/api/user")["ETag"] for c in clients]

        responses = at_once(
            [
                partial(
                    c.put,
                    "/api/user",
                    {"user": {"bio": f"Bio {repetition}.{n}"}},
                    format="json",
                    HTTP_IF_MATCH=etags[n],
                )
                for n, c in enumerate(clients)
            ]
        )

        winners = [n for n, r in enumerate(responses) if r.status_code == 200]
        assert statuses(responses) == {200, 412}
        assert len(winners) == 1
        assert User.objects.get(pk=user.pk).bio == f"Bio {repetition}.{winners[0]}"
