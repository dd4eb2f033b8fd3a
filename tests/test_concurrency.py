"""Concurrent clients on PostgreSQL: no server errors, no duplicate rows, counts that match.

Each scenario releases 20 threads at once (each a client with its own database connection)
and is repeated 20 times."""

import random
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from resources.models import Article, ArticleTag, Comment, Favorite, Tag, User
from tests import recipes
from tests.clients import client_for, http_client
from tests.test_counters import assert_article_dates_copied, assert_counters_exact

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs one writer at a time; concurrency is checked on PostgreSQL",
    ),
]

THREADS = 20
REPETITIONS = 20


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS)


def at_once(actions: Sequence[Callable[[], Any]]) -> list[Any]:
    """Runs each action in its own thread, all released together; answers their results."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)
    raised: list[BaseException] = []

    def run(index: int, action: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = action()
        except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
            raised.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if raised:
        raise raised[0]
    return results


def statuses(responses) -> set[int]:
    return {response.status_code for response in responses}


def test_one_user_favoriting_one_article_at_once():
    reader = recipes.user.make()
    for _ in range(REPETITIONS):
        article = recipes.article.make()
        clients = [client_for(reader) for _ in range(THREADS)]

        responses = at_once(
            [partial(c.post, f"/api/articles/{article.slug}/favorite") for c in clients]
        )

        assert statuses(responses) == {200}
        assert Favorite.objects.filter(user=reader, article=article).count() == 1
        assert {r.json()["article"]["favoritesCount"] for r in responses} == {1}


def test_many_users_favoriting_and_unfavoriting_at_random():
    readers = recipes.user.make(_quantity=THREADS)
    article = recipes.article.make()
    path = f"/api/articles/{article.slug}/favorite"
    shuffle = random.Random(7)  # noqa: S311 (a reproducible test schedule)
    for _ in range(REPETITIONS):
        clients = [client_for(reader) for reader in readers]
        methods = [shuffle.choice(["post", "delete"]) for _ in clients]

        responses = at_once(
            [partial(getattr(c, m), path) for c, m in zip(clients, methods, strict=True)]
        )

        assert statuses(responses) == {200}
        rows = Favorite.objects.filter(article=article)
        assert rows.count() == rows.values("user").distinct().count()
        shown = (
            http_client().get(f"/api/articles/{article.slug}").json()["article"]["favoritesCount"]
        )
        assert shown == rows.count()
        favorited = {r.user for r in rows}
        for reader, method in zip(readers, methods, strict=True):
            assert (reader in favorited) == (method == "post")


def test_the_same_title_created_at_once():
    authors = recipes.user.make(_quantity=THREADS)
    for repetition in range(REPETITIONS):
        title = f"Breaking news {repetition}"
        clients = [client_for(author) for author in authors]
        body = {"article": {"title": title, "description": "d", "body": "b"}}

        responses = at_once(
            [partial(c.post, "/api/articles", body, format="json") for c in clients]
        )

        assert statuses(responses) == {201}
        slugs = {r.json()["article"]["slug"] for r in responses}
        assert len(slugs) == THREADS
        assert f"breaking-news-{repetition}" in slugs
        assert Article.objects.filter(title=title).count() == THREADS


def test_the_same_account_registered_at_once_in_different_letter_case():
    for repetition in range(REPETITIONS):
        name = f"racer{repetition}"
        variants = [
            "".join(ch.upper() if (n >> i) & 1 else ch for i, ch in enumerate(name))
            for n in range(THREADS)
        ]
        actions = [
            partial(
                http_client().post,
                "/api/users",
                {"user": {"username": v, "email": f"{v}@Example.com", "password": "password1"}},
                format="json",
            )
            for v in variants
        ]

        responses = at_once(actions)

        codes = sorted(r.status_code for r in responses)
        assert codes == [201] + [422] * (THREADS - 1)
        assert User.objects.with_username(name).count() == 1
        assert User.objects.with_email(f"{name}@example.com").count() == 1


def test_a_brand_new_tag_on_many_articles_at_once():
    authors = recipes.user.make(_quantity=THREADS)
    for repetition in range(REPETITIONS):
        tag = f"brand-new-{repetition}"
        clients = [client_for(author) for author in authors]
        body = {
            "article": {"title": "T", "description": "d", "body": "b", "tagList": [tag, "shared"]}
        }

        responses = at_once(
            [partial(c.post, "/api/articles", body, format="json") for c in clients]
        )

        assert statuses(responses) == {201}
        assert Tag.objects.filter(name=tag).count() == 1
        assert ArticleTag.objects.filter(tag__name=tag).count() == THREADS
    assert not Tag.objects.values("name").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_a_comment_posted_while_its_article_is_deleted():
    author = recipes.user.make()
    commenters = recipes.user.make(_quantity=THREADS - 1)
    for _ in range(REPETITIONS):
        article = recipes.article.make(author=author)
        path = f"/api/articles/{article.slug}"
        deleter = client_for(author)
        clients = [client_for(c) for c in commenters]
        comment = {"comment": {"body": "first!"}}
        actions = [partial(deleter.delete, path)] + [
            partial(c.post, f"{path}/comments", comment, format="json") for c in clients
        ]

        deleted, *commented = at_once(actions)

        assert deleted.status_code == 204
        assert statuses(commented) <= {200, 404}
        assert not Article.objects.filter(pk=article.pk).exists()
        assert not Comment.objects.filter(article_id=article.pk).exists()


def test_publishing_unpublishing_favoriting_and_deleting_at_once():
    """Authors publish, unpublish and delete their articles while readers favorite and
    unfavorite them and new articles take the same tags: no errors (a deadlock would be a 503),
    and every counter and copied date exact afterwards."""
    authors = recipes.user.make(_quantity=4)
    readers = recipes.user.make(_quantity=8)
    shuffle = random.Random(11)  # noqa: S311 (a reproducible test schedule)
    for repetition in range(REPETITIONS):
        slugs = []
        for n, author in enumerate(authors):
            article = {
                "title": f"Round {repetition} by {n}",
                "description": "d",
                "body": "b",
                "tagList": ["shared", f"tag{n % 2}"],
                "status": "draft" if n % 2 else "published",
            }
            response = client_for(author).post("/api/articles", {"article": article}, format="json")
            slugs.append(response.json()["article"]["slug"])
        actions: list[Callable[[], Any]] = []
        doomed = shuffle.randrange(len(authors))
        for n, (author, slug) in enumerate(zip(authors, slugs, strict=True)):
            path = f"/api/articles/{slug}"
            if n == doomed:
                actions.append(partial(client_for(author).delete, path))
            for status in shuffle.sample(["draft", "published"] * 2, 3):
                change = {"article": {"status": status}}
                actions.append(partial(client_for(author).put, path, change, format="json"))
        new = {"article": {"title": "New", "description": "d", "body": "b", "tagList": ["shared"]}}
        actions.append(partial(client_for(authors[0]).post, "/api/articles", new, format="json"))
        while len(actions) < THREADS:
            reader, slug = shuffle.choice(readers), shuffle.choice(slugs)
            method = shuffle.choice(["post", "delete"])
            actions.append(
                partial(getattr(client_for(reader), method), f"/api/articles/{slug}/favorite")
            )
        shuffle.shuffle(actions)

        responses = at_once(actions)

        assert statuses(responses) <= {200, 201, 204, 404}, [
            r.json() for r in responses if r.status_code >= 500
        ]
        assert_counters_exact()
        assert_article_dates_copied()


def test_readers_unfavoriting_while_the_author_publishes_and_unpublishes():
    """A publish rewrites the date its favorites carry while readers delete theirs: both take
    the article's row before the favorites' rows, so they cannot deadlock (which would be a
    503)."""
    author = recipes.user.make()
    readers = recipes.user.make(_quantity=THREADS - 5)
    for _ in range(REPETITIONS):
        article = recipes.article.make(author=author)
        Favorite.objects.bulk_create([Favorite(user=r, article=article) for r in readers])
        path = f"/api/articles/{article.slug}"
        actions = [partial(client_for(r).delete, f"{path}/favorite") for r in readers]
        for status in ["draft", "published", "draft", "published", "draft"]:
            change = {"article": {"status": status}}
            actions.append(partial(client_for(author).put, path, change, format="json"))

        responses = at_once(actions)

        # A reader who comes while the article is a draft finds nothing to unfavorite.
        assert statuses(responses) <= {200, 404}
        assert_counters_exact()
        assert_article_dates_copied()
