"""Every list query can be answered from an index (EXPLAIN on PostgreSQL).

Sequential scans are switched off for the session, so the planner shows the index it would use on
a table large enough to prefer one; a plan that still scans an article-sized table sequentially
has no index to use. (The benchmark shows EXPLAIN ANALYZE at 50,000 articles in bench/.)"""

import json
import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from resources.cursors import Position
from resources.listing import ArticleListing
from resources.models import Article, Comment, Tag, User

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="EXPLAIN plans are checked on PostgreSQL"
    ),
]

AFTER = Position("published", datetime(2026, 1, 1, tzinfo=UTC), 10**6)
AFTER_UPDATE = Position("updated", datetime(2026, 1, 1, tzinfo=UTC), 10**6)

BIG_TABLES = [
    # Search reads the articles' own GIN index (article_search_idx).
    "resources_article",
    "resources_favorite",
    "resources_articletag",
    "resources_comment",
    "resources_follow",
]


@pytest.fixture
def reader():
    call_command(
        "seed_demo",
        "--users",
        "20",
        "--articles",
        "300",
        "--favorites",
        "500",
        "--follows",
        "60",
        "--comments",
        "200",
    )
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    return User.objects.order_by("pk").first()


def assert_uses_indexes(queryset):
    plan = queryset.explain()
    for table in BIG_TABLES:
        assert not re.search(rf"Seq Scan on {table}\b", plan), plan


def test_global_list(reader):
    assert_uses_indexes(Article.objects.for_list(reader)[:20])


def test_list_filters(reader):
    tag = Tag.objects.order_by("pk")[0].name
    name = reader.username
    for filters in (
        {"tag": tag, "author": None, "favorited": None},
        {"tag": None, "author": name, "favorited": None},
        {"tag": None, "author": None, "favorited": name},
        {"tag": tag, "author": name, "favorited": name},
    ):
        assert_uses_indexes(Article.objects.for_list(reader).filter_list(**filters)[:20])
        assert_uses_indexes(Article.objects.filter_list(**filters))


def test_feed(reader):
    assert_uses_indexes(Article.objects.for_list(reader).feed(reader)[:20])


@pytest.mark.parametrize(
    "page",
    [
        {},
        {"offset": 100},
        {"tag": "python"},
        {"author": "ada.lovelace0"},
        {"favorited": "ada.lovelace0"},
        {"tag": "python", "author": "ada.lovelace0", "favorited": "ada.lovelace0"},
        {"feed": True},
        {"own": True},
        {"own": True, "status": "draft"},
        {"search": "production"},
        {"search": "python", "offset": 100},
        {"search": '"gentle introduction" -rust', "tag": "python"},
        {"cursor": AFTER},
        {"tag": "python", "cursor": AFTER},
        {"author": "ada.lovelace0", "cursor": AFTER},
        {"favorited": "ada.lovelace0", "cursor": AFTER},
        {"feed": True, "cursor": AFTER},
        {"own": True, "cursor": AFTER_UPDATE},
    ],
)
def test_every_page_as_the_api_runs_it(reader, page):
    """The statement a page of each kind runs (compiled once, resources/listing.py)."""
    with CaptureQueriesContext(connection) as captured:
        ArticleListing(reader, **page).page()
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        for table in BIG_TABLES:
            assert not re.search(rf"Seq Scan on {table}\b", plan), plan


def test_single_article_and_comments(reader):
    article = Article.objects.order_by("pk")[0]
    assert_uses_indexes(Article.objects.with_slug(reader, article.slug).with_viewer(reader))
    assert_uses_indexes(Comment.objects.with_viewer(reader).filter(article=article))


def test_tags(reader):
    assert_uses_indexes(Tag.objects.popular())


def explained(statements: list[dict]) -> list[str]:
    plans = []
    for query in statements:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_feeds(reader):
    tag = Tag.objects.order_by("pk")[0].name
    assert_uses_indexes(Article.objects.syndicated())
    assert_uses_indexes(Article.objects.filter_list(tag=tag).syndicated())
    assert_uses_indexes(Article.objects.filter_list(author=reader.username).syndicated())


@pytest.mark.parametrize("offset", [0, 150])
def test_sitemap_pages(reader, offset):
    """A sitemap page's first row, then its rows from there (resources/sitemaps.py)."""
    with CaptureQueriesContext(connection) as captured:
        assert list(Article.objects.sitemap_page(offset=offset, limit=100))
        assert list(User.objects.sitemap_page(offset=0, limit=100))
    plans = explained(captured.captured_queries)
    assert len(plans) == 4
    for plan in plans:
        for table in BIG_TABLES:
            assert not re.search(rf"Seq Scan on {table}\b", plan), plan
    # The first row comes off the published articles' index, without reading the table.
    assert "Index Only Scan" in plans[0]
    assert "article_recent_idx" in plans[0]


def page_index_reads(plan: dict, *, in_limit: bool = False) -> int:
    """Entries that the page's ids were read from (found, and filtered out), over all loops:
    the scans below a LIMIT. (The count and the annotations' subqueries read other entries,
    as many whatever the depth.)"""
    in_limit = in_limit or plan["Node Type"] == "Limit"
    reads = 0
    if in_limit and "Index Name" in plan:
        per_loop = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        reads += per_loop * plan["Actual Loops"]
    return reads + sum(page_index_reads(p, in_limit=in_limit) for p in plan.get("Plans", []))


def page_reads(listing: ArticleListing) -> int:
    with CaptureQueriesContext(connection) as captured:
        listing.fetch()
    [query] = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query['sql']}")
        [(plan,)] = cursor.fetchall()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return page_index_reads(plan[0]["Plan"])


@pytest.mark.parametrize("page", [{}, {"tag": "python"}, {"feed": True}])
def test_a_cursor_page_reads_as_many_index_entries_at_any_depth(reader, page):
    """The page after the 5th article and the page after the middle one read the same index
    entries: the page's scan starts at the cursor's position. (The feed reads a page's worth
    from each followed author.)"""
    with connection.cursor() as cursor:
        # Statistics, as a database in service has them: the planner then knows that a LIMIT
        # ends an ordered scan of a tag's links early.
        cursor.execute("ANALYZE")
    total = ArticleListing(reader, **page).fetch().total
    assert total >= 40
    reads = []
    for depth in (5, total // 2):
        position = ArticleListing(reader, **page, limit=1, offset=depth - 1).fetch().next
        reads.append(page_reads(ArticleListing(reader, **page, limit=5, cursor=position)))

    assert reads[0] == reads[1], reads
