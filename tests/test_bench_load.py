"""bench/load.py, the benchmark's loader: the rows are seed_demo's, and every counter, copied
date, search vector, index, constraint and trigger is what the API's own writes leave (PostgreSQL
only: it loads with COPY)."""

import pytest
from django.core.management import call_command
from django.db import connection

from bench.load import Loader, Sizes, load_check
from resources.markdown import markdown_render, reading_time_minutes
from resources.models import Article, ArticleTag, Comment, Favorite, Follow, Tag, User
from tests.clients import client_for
from tests.test_counters import assert_article_dates_copied, assert_counters_exact
from tests.test_seed_demo import snapshot

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="bench/load.py loads PostgreSQL with COPY"
    ),
]

SIZES = Sizes(
    users=9, articles=150, tags=14, tags_per_article=3, favorites=400, follows=20, comments=60
)
SEED_DEMO_SIZE = [
    "--users",
    "9",
    "--articles",
    "150",
    "--tags",
    "14",
    "--favorites",
    "400",
    "--follows",
    "20",
    "--comments",
    "60",
]


def quiet(*args, **kwargs) -> None:
    pass


def everything() -> dict:
    """seed_demo's snapshot, and what the load computes instead of triggers and the API."""
    with connection.cursor() as cursor:
        # Tag names go into search_tags in whatever order the trigger's aggregate reads them,
        # so their positions may differ between two loads of the same rows: lexemes compared.
        cursor.execute(
            "SELECT slug, search_vector::text, tsvector_to_array(search_tags)"
            " FROM resources_article ORDER BY slug"
        )
        search = cursor.fetchall()
    return {
        **snapshot(),
        "rendered": sorted(
            Article.objects.values_list(
                "slug",
                "body_html",
                "reading_time_minutes",
                "status",
                "published_at",
                "favorites_count",
            )
        ),
        "comments_rendered": sorted(Comment.objects.values_list("body", "body_html").distinct()),
        "user_counts": sorted(User.objects.values_list("username", "articles_count", "password")),
        "tag_counts": sorted(Tag.objects.values_list("name", "articles_count")),
        "search": search,
    }


def schema() -> list[tuple]:
    """The indexes, constraints and triggers of the tables the load writes."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'index', indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'resources_%%'
            UNION ALL
            SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid::regclass::text LIKE 'resources_%%'
            UNION ALL
            SELECT 'trigger', tgname, tgenabled::text FROM pg_trigger
            WHERE tgrelid::regclass::text LIKE 'resources_%%'
            ORDER BY 1, 2
            """
        )
        return cursor.fetchall()


def test_the_load_is_seed_demos_rows_with_exact_counters():
    before = schema()

    assert Loader(SIZES, log=quiet).load()

    assert schema() == before
    assert_counters_exact()
    assert_article_dates_copied()
    assert Article.objects.filter(status="draft").count() == 3
    loaded = everything()
    # The same data set, written by seed_demo through the ORM and the triggers.
    for model in (Comment, Favorite, Follow, ArticleTag, Article, Tag, User):
        model.objects.all().delete()
    call_command("seed_demo", *SEED_DEMO_SIZE, stdout=None)
    seeded = everything()
    # One password hash each run, with its own salt.
    loaded["user_counts"] = [row[:2] for row in loaded["user_counts"]]
    seeded["user_counts"] = [row[:2] for row in seeded["user_counts"]]
    assert loaded == seeded


def test_every_search_vector_and_body_is_what_the_triggers_and_the_renderer_make():
    Loader(SIZES, log=quiet).load()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM resources_article"
            " WHERE search_vector <> conduit_article_search_vector(title, description, body)"
            " OR tsvector_to_array(search_tags)"
            " <> tsvector_to_array(conduit_article_search_tags(id))"
            " OR setweight(search_tags, 'B') <> search_tags"
        )
        assert cursor.fetchone() == (0,)
    for body, html, minutes in Article.objects.values_list(
        "body", "body_html", "reading_time_minutes"
    ):
        assert (html, minutes) == (markdown_render(body), reading_time_minutes(body))


def test_the_api_reads_the_loaded_rows_and_writes_after_them(api):
    Loader(SIZES, log=quiet).load()
    # The sequences were moved past the loaded ids.
    author = client_for(User.objects.create_user("after", "after@example.com", "password1"))
    published = Article.objects.filter(status="published")

    assert api.get("/api/articles").json()["articlesCount"] == published.count()
    tag = Tag.objects.order_by("-articles_count", "name")[0]
    body = api.get(f"/api/articles?tag={tag.name}&limit=1").json()
    assert body["articlesCount"] == published.filter(tags=tag).count()
    created = author.post(
        "/api/articles",
        {"article": {"title": "After the load", "description": "d", "body": "b"}},
        format="json",
    )
    assert created.status_code == 201
    assert api.get("/api/articles").json()["articlesCount"] == published.count()
    assert_counters_exact()


def test_a_loaded_database_is_left_as_it_is():
    assert Loader(SIZES, log=quiet).load()

    assert not Loader(SIZES, log=quiet).load()
    assert Article.objects.count() == SIZES.articles


def test_the_check_finds_a_wrong_counter_a_wrong_date_and_a_broken_key():
    Loader(SIZES, log=quiet).load()
    with connection.cursor() as cursor:
        assert not any(load_check(cursor).values())
        cursor.execute("ALTER TABLE resources_favorite DISABLE TRIGGER ALL")
        cursor.execute("UPDATE resources_tag SET articles_count = articles_count + 1 WHERE id = 1")
        cursor.execute(
            "UPDATE resources_favorite SET article_published_at = NULL"
            " WHERE id = (SELECT min(id) FROM resources_favorite"
            " WHERE article_published_at IS NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO resources_favorite (user_id, article_id, created_at)"
            " VALUES (1, 999999, now())"
        )
        wrong = {name: n for name, n in load_check(cursor).items() if n}
        cursor.execute("ALTER TABLE resources_favorite ENABLE TRIGGER ALL")

    foreign_key = next(name for name in wrong if name.startswith("resources_favorite_article"))
    assert wrong == {"tag_articles_count": 1, "favorite_dates": 1, foreign_key: 1}
