"""EXPLAIN ANALYZE of every list query, as the API runs it, written to bench/plans/<database>/.

    .venv/bin/python bench/plans.py --database conduit_bench_50000

Each plan should read its page off an index: article_recent_idx (the global list, deep pages),
article_tag_recent_idx (a tag), favorite_recent_idx (a reader's favorites),
article_author_recent_idx (an author, the feed), tag_popular_idx (the tags).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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

    from resources.models import Article, Tag, User
    from resources.querysets import ListShape, _compiled_page, _compiled_popular_tags

    reader = User.objects.annotate(n=Count("followees")).filter(n__gte=15).order_by("pk")[0]
    tag = Tag.objects.order_by("-articles_count", "name")[10].name
    author = Article.objects.order_by("-created_at")[0].author.username
    cases = {
        "list": (ListShape("default", False, False, False, False, False, 0, 20), ()),
        "list_signed_in": (ListShape("default", True, False, False, False, False, 0, 20), ()),
        "deep_page": (ListShape("default", False, False, False, False, False, 10_000, 20), ()),
        "tag": (ListShape("default", False, False, True, False, False, 0, 20), ()),
        "author": (ListShape("default", False, False, False, True, False, 0, 20), ()),
        "favorited": (ListShape("default", False, False, False, False, True, 0, 20), ()),
        "feed": (ListShape("default", True, True, False, False, False, 0, 20), ()),
    }
    values = (reader.pk, tag, author, reader.username)
    target = ROOT / "bench" / "plans" / args.database
    target.mkdir(parents=True, exist_ok=True)
    for name, (shape, _) in cases.items():
        compiled = _compiled_page(shape)
        params = compiled.params.copy()
        for position, index in compiled.slots:
            params[position] = values[index]
        explain(connection, compiled.sql, params, target / f"{name}.txt")
    tags = _compiled_popular_tags("default")
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
