"""Loads the benchmark's data set into PostgreSQL fast: the same rows `manage.py seed_demo` makes
for the same options, written with COPY, with the counters and the copies that triggers keep
computed in bulk, and checked before the load commits.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/conduit_bench_1000000 \\
        .venv/bin/python bench/load.py --articles 1000000 --favorites 4000000 --comments 500000

It loads into a migrated database that holds no users yet (a database already holding exactly
the data set asked for is left as it is), in one transaction:

1. Row triggers and foreign-key checks are off for the load (ALTER TABLE ... DISABLE TRIGGER ALL,
   undone before commit): per-row work and 8 million deferred foreign-key checks at commit were
   what made seed_demo take 70 minutes at 1,000,000 articles. The rows are given ids that
   satisfy every foreign key by construction (tag links and favorites even go in before their
   articles), and the keys are checked afterwards with one anti-join each.
2. The secondary indexes are dropped and made again after the rows are in (one sort each
   instead of millions of inserts into them), the search index included.
3. What the triggers of migrations 0002-0005 keep is written with the rows or computed in
   set-based statements: the dates link rows copy from their article are written with them,
   favorites_count is counted while the favorites are drawn, the counters of tags, users and
   the Totals row are single UPDATEs, and the search vectors are computed as each article is
   inserted as the triggers compute them (tag links go in before their articles, so
   an article's tag names are there, and are analyzed first, so that the lookup is planned well).
4. Bodies are rendered with resources/markdown.py, each Markdown block once (see
   `BlockRenderer`).
5. The check: the queries of tests/test_counters.py (as set-based SQL), every foreign key,
   and a sample of search vectors and rendered bodies recomputed. Any difference rolls the
   whole load back.
6. After the commit, VACUUM (ANALYZE) of every table loaded, as autovacuum would do later.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from array import array
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api_project.settings")
    import django

    django.setup()

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils.text import slugify

from resources.management.commands.seed_demo import (
    BIOS,
    COMMENTS,
    DEMO_EMAIL_DOMAIN,
    DEMO_PASSWORD,
    DRAFT_EVERY,
    EPOCH,
    SENTENCES,
    TOPICS,
    _body,
    _tag_names,
    _title,
    _username,
)
from resources.markdown import markdown_render, reading_time_minutes

# The tables the load writes, parents before children.
TABLES = [
    "resources_user",
    "resources_tag",
    "resources_follow",
    "resources_articletag",
    "resources_favorite",
    "resources_article",
    "resources_comment",
]
# Indexes kept during the load: primary keys (rows go in in id order, so they only append), and
# the tag links' (article, tag) pairs, which the search vector of each article is read through.
KEPT_INDEXES = {"article_tag_unique_pair"}
# Every this-many-th article has its search vectors and HTML recomputed in the final check.
CHECK_EVERY = 997


@dataclass(frozen=True)
class Sizes:
    users: int
    articles: int
    tags: int
    tags_per_article: int
    favorites: int
    follows: int
    comments: int
    seed: int = 2026


class BlockRenderer:
    """markdown_render() of the bodies seed_demo writes, each distinct block rendered once.

    Those bodies are top-level blocks (paragraphs, headings, a list, a fenced block) separated
    by blank lines, none of them a container or a link reference definition, so the HTML of the
    body is the HTML of its blocks one after the other; the final check renders a sample of
    bodies whole and compares. A million bodies share a few tens of thousands of blocks."""

    def __init__(self) -> None:
        self.blocks: dict[str, str] = {}

    def __call__(self, body: str) -> str:
        parts = []
        for block in body.split("\n\n"):
            html = self.blocks.get(block)
            if html is None:
                html = self.blocks[block] = markdown_render(block)
            parts.append(html)
        return "".join(parts)


def _rng(sizes: Sizes, part: str) -> random.Random:
    # The generators seed_demo draws each part from, so the rows are the same as its rows.
    return random.Random(f"{sizes.seed}-{part}")


@dataclass
class PlannedArticle:
    n: int
    title: str
    description: str
    body: str
    author: int
    created: datetime
    edited: datetime
    draft: bool
    tags: list[int]


def _planned_articles(sizes: Sizes, users: list[int], tags: list[int]) -> Iterator[PlannedArticle]:
    """The articles of seed_demo's _articles(), drawn in its order from its generator (the
    cumulative weights are computed once: random.choices() then draws the same values)."""
    rng = _rng(sizes, "articles")
    names = dict(zip(tags, _tag_names(len(tags)), strict=True))
    cumulative = list(accumulate(1 / (rank + 1) for rank in range(len(tags))))
    total = cumulative[-1] if cumulative else 0.0
    wanted = min(sizes.tags_per_article, len(tags))
    last = len(tags) - 1
    for n in range(sizes.articles):
        chosen: set[int] = set()
        while tags and len(chosen) < wanted:
            # random.choices(tags, weights)[0], as seed_demo calls it.
            chosen.add(tags[bisect(cumulative, rng.random() * total, 0, last)])
        topic = names[min(chosen)] if chosen else rng.choice(TOPICS)
        title = _title(rng, topic)
        created = EPOCH - timedelta(milliseconds=rng.randint(0, 365 * 24 * 3600 * 1000))
        edited = created + timedelta(hours=rng.choice([0, 0, 0, 2, 30]))
        description = rng.choice(SENTENCES)
        body = _body(rng, topic)
        author = users[rng.randrange(len(users))]
        draft = n % DRAFT_EVERY == DRAFT_EVERY - 1
        yield PlannedArticle(
            n, title, description, body, author, created, edited, draft, sorted(chosen)
        )


def _favorite_pairs(sizes: Sizes, users: list[int], articles: int) -> array:
    """seed_demo's _favorites() pairs, sorted by (user, article), each as user * (articles + 1)
    + article: 4 million tuples would take gigabytes."""
    rng = _rng(sizes, "favorites")
    count = min(sizes.favorites, len(users) * articles)
    width = articles + 1
    ids = range(1, articles + 1)
    pairs: set[int] = set()
    while len(pairs) < count:
        user = rng.choice(users)
        pairs.add(user * width + rng.choice(ids))
    return array("q", sorted(pairs))


def _follow_pairs(sizes: Sizes, users: list[int]) -> list[tuple[int, int]]:
    rng = _rng(sizes, "follows")
    count = min(sizes.follows, len(users) * (len(users) - 1))
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < count:
        follower, followee = rng.sample(users, 2)
        pairs.add((follower, followee))
    return sorted(pairs)


class Loader:
    cursor: Any

    def __init__(self, sizes: Sizes, *, log: Any = print) -> None:
        self.sizes = sizes
        self.log = log
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.backend = 0

    def step(self, what: str) -> None:
        self.log(
            f"  {time.perf_counter() - self.started:6.1f} s  {what}"
            f"  (CPU s: loader {time.process_time() - self.cpu_started:.1f},"
            f" PostgreSQL {self.backend_cpu():.1f})",
            flush=True,
        )

    def backend_cpu(self) -> float:
        """CPU seconds of the PostgreSQL process serving the load, when it runs on this machine:
        on a machine shared with other work, wall time says little about the load's own cost."""
        try:
            fields = Path(f"/proc/{self.backend}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def load(self) -> bool:
        """Loads the data set; False when the database already holds it."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM resources_user")
            if cursor.fetchone()[0]:
                if self.holds_data_set(cursor):
                    return False
                sys.exit(
                    f"{connection.settings_dict['NAME']} already holds other data: load into a "
                    "freshly migrated database."
                )
        with transaction.atomic(), connection.cursor() as cursor:
            self.cursor = cursor
            cursor.execute("SELECT pg_backend_pid()")
            self.backend = cursor.fetchone()[0]
            cursor.execute("SET LOCAL statement_timeout = 0")
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            indexes = self.drop_indexes()
            self.triggers("DISABLE")
            self.load_rows()
            self.step("rows written; making the indexes again")
            for statement in indexes:
                cursor.execute(statement)
            self.step("indexes made; counting")
            self.count()
            self.triggers("ENABLE")
            self.step("checking")
            self.check()
            self.set_sequences()
        self.step("committed")
        if not connection.in_atomic_block:
            # As autovacuum would, some time later: planner statistics for the new rows, and
            # the visibility map that index-only scans read. (VACUUM cannot run inside a
            # transaction, as the load does when a test makes it.)
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")
                for table in TABLES:
                    cursor.execute(f"VACUUM (ANALYZE) {table}")
            self.step("vacuumed")
        return True

    def holds_data_set(self, cursor: Any) -> bool:
        sizes = self.sizes
        users = max(sizes.users, 2) if sizes.articles or sizes.follows else sizes.users
        expected = [users, sizes.articles, sizes.tags]
        cursor.execute(
            "SELECT (SELECT count(*) FROM resources_user), (SELECT count(*) FROM"
            " resources_article), (SELECT count(*) FROM resources_tag)"
        )
        return list(cursor.fetchone()) == expected

    def drop_indexes(self) -> list[str]:
        """Drops the secondary indexes of the tables loaded; answers the statements that make
        them again, exactly as they were (unique constraints as constraints)."""
        self.cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, t.relname, c.conname,
                   pg_get_indexdef(i.indexrelid), pg_get_constraintdef(c.oid)
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = t.oid
            WHERE t.relname = ANY(%s) AND NOT i.indisprimary
            ORDER BY t.relname, 1
            """,
            [TABLES],
        )
        again = []
        for index, table, constraint, index_sql, constraint_sql in self.cursor.fetchall():
            if index in KEPT_INDEXES:
                continue
            if constraint:
                self.cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
                again.append(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraint_sql}')
            else:
                self.cursor.execute(f'DROP INDEX "{index}"')
                again.append(index_sql)
        return again

    def triggers(self, action: str) -> None:
        # ALL includes the foreign keys' own triggers: no check is queued for commit.
        for table in TABLES:
            self.cursor.execute(f"ALTER TABLE {table} {action} TRIGGER ALL")
        if action == "DISABLE":
            # While loading, an article's search vectors are computed as it is inserted, as
            # migration 0005's triggers compute them.
            self.cursor.execute(
                """
                CREATE FUNCTION pg_temp.conduit_load_article_search() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    NEW.search_vector := conduit_article_search_vector(
                        NEW.title, NEW.description, NEW.body);
                    -- conduit_article_search_tags(NEW.id), written out: a plpgsql
                    -- statement keeps its plan, a call of the SQL function plans it again
                    -- for every row (the check compares the two).
                    NEW.search_tags := (
                        SELECT setweight(to_tsvector(conduit_search_config(),
                            unaccent(coalesce(string_agg(tag.name, ' '), ''))), 'B')
                        FROM resources_articletag link
                        JOIN resources_tag tag ON tag.id = link.tag_id
                        WHERE link.article_id = NEW.id
                    );
                    RETURN NEW;
                END $$
                """
            )
            self.cursor.execute(
                "CREATE TRIGGER conduit_load_article_search BEFORE INSERT ON resources_article"
                " FOR EACH ROW EXECUTE FUNCTION pg_temp.conduit_load_article_search()"
            )
            self.cursor.execute(
                "ALTER TABLE resources_article ENABLE TRIGGER conduit_load_article_search"
            )
        else:
            self.cursor.execute("DROP TRIGGER conduit_load_article_search ON resources_article")

    def copy(self, table: str, columns: str, rows: Any) -> None:
        with self.cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def load_rows(self) -> None:
        sizes = self.sizes
        user_count = sizes.users
        if user_count < 2 and (sizes.articles or sizes.follows):
            user_count = 2
        users = list(range(1, user_count + 1))
        tags = list(range(1, len(_tag_names(sizes.tags)) + 1))
        password = make_password(DEMO_PASSWORD)
        self.copy(
            "resources_user",
            "id, password, is_superuser, username, email, bio, image, is_active, is_staff,"
            " date_joined, articles_count",
            (
                (
                    users[n],
                    password,
                    False,
                    _username(n),
                    f"{_username(n)}@{DEMO_EMAIL_DOMAIN}",
                    BIOS[n % len(BIOS)],
                    None,
                    True,
                    False,
                    EPOCH - timedelta(days=400 - n % 365),
                    0,
                )
                for n in range(user_count)
            ),
        )
        self.copy(
            "resources_tag",
            "id, name, articles_count",
            ((tag, name, 0) for tag, name in zip(tags, _tag_names(sizes.tags), strict=True)),
        )
        self.copy(
            "resources_follow",
            "follower_id, followee_id, created_at",
            ((a, b, EPOCH) for a, b in _follow_pairs(sizes, users)),
        )
        self.step(f"{user_count:,} users, {len(tags):,} tags, follows")

        # What the link rows copy from their article: its publication date, None for a draft.
        listed: list[datetime | None] = [None]
        links = 0

        def tag_links() -> Iterator[tuple]:
            nonlocal links
            for article in _planned_articles(sizes, users, tags):
                published = None if article.draft else article.created
                listed.append(published)
                for tag in article.tags:
                    links += 1
                    yield links, article.n + 1, tag, published

        self.copy(
            "resources_articletag", "id, article_id, tag_id, article_published_at", tag_links()
        )
        # The article trigger's tag lookup is planned once, from the statistics these tables
        # have then. Without any, the planner takes an article's links for 0.5% of the table
        # (its default for an equality) and picks a plan whose cost grows with the table: at
        # 1,000,000 articles that lookup was 0.5 ms of every insert, 60% of the whole load.
        self.cursor.execute("ANALYZE resources_articletag, resources_tag")
        self.step(f"{links:,} tag links")

        pairs = _favorite_pairs(sizes, users, sizes.articles)
        width = sizes.articles + 1
        favorites = array("i", bytes(4 * width))
        for pair in pairs:
            favorites[pair % width] += 1
        self.copy(
            "resources_favorite",
            "id, user_id, article_id, created_at, article_published_at",
            (
                (i, pair // width, pair % width, EPOCH, listed[pair % width])
                for i, pair in enumerate(pairs, 1)
            ),
        )
        self.step(f"{len(pairs):,} favorites")
        del pairs

        render = BlockRenderer()
        self.copy(
            "resources_article",
            "id, slug, title, description, body, body_html, reading_time_minutes, author_id,"
            " status, created_at, updated_at, published_at, favorites_count",
            (
                (
                    a.n + 1,
                    f"{slugify(a.title)}-{a.n}",
                    a.title,
                    a.description,
                    a.body,
                    render(a.body),
                    reading_time_minutes(a.body),
                    a.author,
                    "draft" if a.draft else "published",
                    a.created,
                    a.edited,
                    None if a.draft else a.created,
                    favorites[a.n + 1],
                )
                for a in _planned_articles(sizes, users, tags)
            ),
        )
        self.step(f"{sizes.articles:,} articles ({len(render.blocks):,} distinct blocks)")

        rng = _rng(sizes, "comments")
        rendered = {body: markdown_render(body) for body in COMMENTS}
        comment_count = sizes.comments if sizes.articles else 0

        def comments() -> Iterator[tuple]:
            for i in range(1, comment_count + 1):
                when = EPOCH + timedelta(seconds=rng.randint(0, 30 * 24 * 3600))
                article = rng.randrange(sizes.articles) + 1
                author = users[rng.randrange(len(users))]
                body = rng.choice(COMMENTS)
                yield i, article, author, body, rendered[body], when, when

        self.copy(
            "resources_comment",
            "id, article_id, author_id, body, body_html, created_at, updated_at",
            comments(),
        )
        self.step(f"{comment_count:,} comments")

    def count(self) -> None:
        """The counters migrations 0002 and 0004 keep, computed from the rows."""
        self.cursor.execute(
            """
            UPDATE resources_tag t SET articles_count = n FROM (
                SELECT tag_id, count(*) AS n FROM resources_articletag
                WHERE article_published_at IS NOT NULL GROUP BY tag_id
            ) c WHERE c.tag_id = t.id
            """
        )
        self.cursor.execute(
            """
            UPDATE resources_user u SET articles_count = n FROM (
                SELECT author_id, count(*) AS n FROM resources_article
                WHERE status = 'published' GROUP BY author_id
            ) c WHERE c.author_id = u.id
            """
        )
        self.cursor.execute(
            """
            INSERT INTO resources_totals (id, articles)
            SELECT 1, count(*) FROM resources_article WHERE status = 'published'
            ON CONFLICT (id) DO UPDATE SET articles = EXCLUDED.articles
            """
        )

    def check(self) -> None:
        """Fails the load (rolling it back) where a row is not what the API's own writes and
        triggers would have made."""
        wrong = load_check(self.cursor)
        failed = {name: n for name, n in wrong.items() if n}
        if failed:
            raise RuntimeError(f"The load is not exact, rolled back: {failed}")
        self.step(f"exact: {len(wrong)} checks, 0 rows wrong")

    def set_sequences(self) -> None:
        for table in [*TABLES, "resources_totals"]:
            self.cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" coalesce(max(id), 0) + 1, false) FROM {table}"
            )


# tests/test_counters.py's assert_counters_exact() and assert_article_dates_copied(), as
# counts of the rows where they would fail; and the search vectors of a sample of articles.
CHECKS = {
    "totals": """SELECT count(*) FROM resources_totals WHERE id = 1 AND articles <>
        (SELECT count(*) FROM resources_article WHERE status = 'published')""",
    "totals_row": "SELECT 1 - count(*) FROM resources_totals WHERE id = 1",
    "user_articles_count": """SELECT count(*) FROM resources_user u LEFT JOIN (
        SELECT author_id, count(*) AS n FROM resources_article WHERE status = 'published'
        GROUP BY author_id) c ON c.author_id = u.id WHERE u.articles_count <> coalesce(c.n, 0)""",
    "tag_articles_count": """SELECT count(*) FROM resources_tag t LEFT JOIN (
        SELECT x.tag_id, count(*) AS n FROM resources_articletag x
        JOIN resources_article a ON a.id = x.article_id WHERE a.status = 'published'
        GROUP BY x.tag_id) c ON c.tag_id = t.id WHERE t.articles_count <> coalesce(c.n, 0)""",
    "favorites_count": """SELECT count(*) FROM resources_article a
        LEFT JOIN (SELECT article_id, count(*) AS n FROM resources_favorite GROUP BY article_id)
        f ON f.article_id = a.id WHERE a.favorites_count <> coalesce(f.n, 0)""",
    "tag_link_dates": """SELECT count(*) FROM resources_articletag x
        JOIN resources_article a ON a.id = x.article_id WHERE x.article_published_at
        IS DISTINCT FROM CASE WHEN a.status = 'published' THEN a.published_at END""",
    "favorite_dates": """SELECT count(*) FROM resources_favorite x
        JOIN resources_article a ON a.id = x.article_id WHERE x.article_published_at
        IS DISTINCT FROM CASE WHEN a.status = 'published' THEN a.published_at END""",
    # The positions of tag names depend on the order the trigger's aggregate reads the tags in,
    # which is the plan's: the lexemes are compared, and all must weigh B.
    "search_vectors": f"""SELECT count(*) FROM resources_article WHERE id % {CHECK_EVERY} = 0
        AND (search_vector <> conduit_article_search_vector(title, description, body)
             OR tsvector_to_array(search_tags)
                <> tsvector_to_array(conduit_article_search_tags(id))
             OR setweight(search_tags, 'B') <> search_tags)""",
}


def load_check(cursor: Any) -> dict[str, int]:
    """The number of rows each check finds wrong: the counters, the copied dates, a sample of
    search vectors and of rendered bodies, and every foreign key of the tables loaded."""
    wrong = {}
    for name, sql in CHECKS.items():
        cursor.execute(sql)
        wrong[name] = cursor.fetchone()[0]
    cursor.execute(
        """
        SELECT c.conname, child.relname, a.attname, parent.relname
        FROM pg_constraint c
        JOIN pg_class child ON child.oid = c.conrelid
        JOIN pg_class parent ON parent.oid = c.confrelid
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND child.relname = ANY(%s)
        """,
        [TABLES],
    )
    for name, child, column, parent in cursor.fetchall():
        cursor.execute(
            f"SELECT count(*) FROM {child} c WHERE NOT EXISTS"
            f" (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
        )
        wrong[name] = cursor.fetchone()[0]
    cursor.execute(
        "SELECT body, body_html FROM resources_article WHERE id %% %s = 0", [CHECK_EVERY]
    )
    wrong["body_html"] = sum(markdown_render(body) != html for body, html in cursor.fetchall())
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--tags", type=int, default=500)
    parser.add_argument("--tags-per-article", type=int, default=3)
    parser.add_argument("--favorites", type=int, default=None, help="default: 4 per article")
    parser.add_argument("--follows", type=int, default=20_000)
    parser.add_argument("--comments", type=int, default=None, help="default: 1 per 2 articles")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    sizes = Sizes(
        users=args.users,
        articles=args.articles,
        tags=args.tags,
        tags_per_article=args.tags_per_article,
        favorites=4 * args.articles if args.favorites is None else args.favorites,
        follows=args.follows,
        comments=args.articles // 2 if args.comments is None else args.comments,
        seed=args.seed,
    )
    if connection.vendor != "postgresql":
        sys.exit("bench/load.py loads PostgreSQL (set DATABASE_URL); seed_demo loads SQLite.")
    started = time.perf_counter()
    print(f"Loading {sizes} into {connection.settings_dict['NAME']} ...", flush=True)
    if Loader(sizes).load():
        load = " / ".join(f"{n:.1f}" for n in os.getloadavg())
        print(
            f"Loaded in {time.perf_counter() - started:.0f} s"
            f" (load average of the machine, 1 / 5 / 15 min: {load})."
        )
    else:
        print("Already loaded: nothing to do.")


if __name__ == "__main__":
    main()
