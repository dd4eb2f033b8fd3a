"""EXPLAIN ANALYZE of every list query, as the API runs it, written to bench/plans/<database>/.

    .venv/bin/python bench/plans.py --database conduit_bench_50000

Each plan should read its page off an index: article_recent_idx (the global list, deep pages),
article_tag_recent_idx (a tag), favorite_recent_idx (a reader's favorites),
article_author_recent_idx (an author, the feed), tag_popular_idx (the tags); a search reads
its matches off article_search_idx (GIN) and ranks them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# The benchmark's search (bench/run.py).
SEARCH = "kubernetes patterns that scale"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="conduit_bench_50000")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api_project.settings")
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count

    from resources.listing import PageKind, _page_query
    from resources.models import Article, Tag, User
    from resources.querysets import _popular_tags_query
    from resources.search import search_values

    reader = User.objects.annotate(n=Count("followees")).filter(n__gte=15).order_by("pk")[0]
    tag = Tag.objects.order_by("-articles_count", "name")[10].name
    author = Article.objects.published().order_by("-published_at")[0].author.username

    def kind(signed_in=False, feed=False, own=False, status="", offset=0, **filters):
        names = ("tag", "author", "favorited", "search")
        given = {name: filters.get(name, False) for name in names}
        return PageKind("default", signed_in, feed, own, status, **given, offset=offset, limit=20)

    cases = {
        "list": kind(),
        "list_signed_in": kind(signed_in=True),
        "deep_page": kind(offset=10_000),
        "tag": kind(tag=True),
        "author": kind(author=True),
        "favorited": kind(favorited=True),
        "feed": kind(signed_in=True, feed=True),
        "own": kind(signed_in=True, own=True),
        "own_drafts": kind(signed_in=True, own=True, status="draft"),
        "search": kind(search=True),
        "search_signed_in": kind(signed_in=True, search=True),
        "search_deep_page": kind(search=True, offset=200),
    }
    values = (reader.pk, tag, author, reader.username, *search_values(SEARCH, connection.vendor))
    target = ROOT / "bench" / "plans" / args.database
    target.mkdir(parents=True, exist_ok=True)
    for name, page_kind in cases.items():
        compiled = _page_query(page_kind)
        explain(connection, compiled.sql, compiled.bound_params(values), target / f"{name}.txt")
    tags = _popular_tags_query("default")
    explain(connection, tags.sql, tags.params, target / "tags.txt")
    print(f"Plans written to {target.relative_to(ROOT)}")


def explain(connection, sql: str, params: list, path: Path) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # warm the cache, as a running server has it
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    path.write_text(f"-- {sql}\n-- params: {params}\n\n{plan}\n")
    timing = [line for line in plan.splitlines() if "Time:" in line]
    print(f"{path.stem:15} {'; '.join(t.strip() for t in timing)}")


if __name__ == "__main__":
    main()
