"""Fills the database with realistic, deterministic demo content, in bulk.

The same options always give the same rows, and running the command again adds only what is
missing, so it is safe to run on every start. The benchmark loads its data set with it:

    python manage.py seed_demo --users 1000 --articles 50000 --tags 500 \
        --favorites 200000 --follows 20000 --comments 25000
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils.text import slugify

from resources.markdown import markdown_render
from resources.models import (
    Article,
    ArticleStatus,
    ArticleTag,
    Comment,
    Favorite,
    Follow,
    Tag,
    User,
)

# Published in the README: demo accounts exist to be signed in to.
DEMO_PASSWORD = "conduit-demo"  # noqa: S105
DEMO_EMAIL_DOMAIN = "demo.conduit.example"
# A fixed clock, so the content is the same whenever it is loaded.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5000
DRAFT_EVERY = 50

FIRST_NAMES = [
    "ada",
    "alan",
    "grace",
    "linus",
    "margaret",
    "dennis",
    "barbara",
    "ken",
    "radia",
    "guido",
    "frances",
    "edsger",
    "hedy",
    "donald",
    "katherine",
    "tim",
    "annie",
    "john",
    "sophie",
    "yukihiro",
    "carol",
    "bjarne",
    "mary",
    "niklaus",
    "shafi",
    "leslie",
    "jean",
    "rasmus",
    "fei",
    "brendan",
]
LAST_NAMES = [
    "lovelace",
    "turing",
    "hopper",
    "torvalds",
    "hamilton",
    "ritchie",
    "liskov",
    "thompson",
    "perlman",
    "rossum",
    "allen",
    "dijkstra",
    "lamarr",
    "knuth",
    "johnson",
    "berners",
    "easley",
    "backus",
    "wilson",
    "matsumoto",
    "shaw",
    "stroustrup",
    "keller",
    "wirth",
    "goldwasser",
    "lamport",
    "sammet",
    "lerdorf",
    "li",
    "eich",
]
BIOS = [
    "Writes about distributed systems and sourdough.",
    "Backend engineer. Opinions on databases, mostly about indexes.",
    "Frontend developer who learned to love SQL.",
    "Teaching computers to be patient since 2009.",
    "Open-source maintainer, occasional conference speaker.",
    "I like to skateboard, and to make slow queries fast.",
    "",
]
TOPICS = [
    "python",
    "django",
    "rust",
    "go",
    "postgresql",
    "redis",
    "docker",
    "kubernetes",
    "testing",
    "security",
    "performance",
    "react",
    "typescript",
    "css",
    "accessibility",
    "api-design",
    "observability",
    "linux",
    "git",
    "career",
    "open-source",
    "machine-learning",
    "databases",
    "architecture",
    "devops",
    "webassembly",
    "concurrency",
    "networking",
    "caching",
    "design",
    "product",
    "writing",
    "productivity",
    "cloud",
    "serverless",
    "graphql",
    "rest",
    "http",
    "javascript",
    "svelte",
    "vue",
    "angular",
    "elixir",
    "haskell",
    "ocaml",
    "kotlin",
    "swift",
    "java",
    "c",
    "cpp",
    "zig",
    "sqlite",
    "mobile",
    "ux",
    "startups",
    "ethics",
    "education",
    "data",
    "privacy",
    "algorithms",
]
TITLE_PATTERNS = [
    "How to {verb} {topic} without losing your mind",
    "A gentle introduction to {topic}",
    "{Topic} in production: lessons from year one",
    "Why we moved our {thing} to {topic}",
    "The {adjective} guide to {topic}",
    "Ten things I wish I knew about {topic}",
    "{Topic} patterns that scale",
    "Debugging {topic}: a field guide",
    "What {topic} taught me about {thing}",
    "Stop {verb}ing your {thing} by hand",
]
VERBS = ["test", "deploy", "profile", "refactor", "secure", "document", "monitor", "cache"]
THINGS = ["backend", "build pipeline", "monolith", "test suite", "API", "data model", "team"]
ADJECTIVES = ["practical", "honest", "missing", "complete", "opinionated", "short"]
SENTENCES = [
    "Most of the cost hides in the places nobody measures.",
    "We started with the simplest thing that could possibly work.",
    "The first version was slow, but it was correct, and that mattered more.",
    "Every abstraction leaks eventually; the question is where.",
    "Measure twice, optimise once, and write down what you measured.",
    "The database was never the problem; the number of round trips was.",
    "Good defaults beat good documentation, and both beat neither.",
    "A test that speaks HTTP survives every refactoring of the code behind it.",
    "Naming things is hard, so we named them after what they do.",
    "The second system effect is real, and we fell for it twice.",
    "Small commits with honest messages made the review painless.",
    "It turned out the cache was hiding a bug rather than fixing one.",
]
COMMENTS = [
    "Thank you, this was exactly what I needed.",
    "Great write-up! Did you measure the memory use as well?",
    "I tried this on our project and it halved the response time.",
    "Interesting take, though I would argue the opposite for small teams.",
    "Could you share the configuration you used?",
    "Bookmarked. The section on indexes alone was worth it.",
    "We hit the same problem last year; wish I had read this then.",
]


def _username(n: int) -> str:
    first = FIRST_NAMES[n % len(FIRST_NAMES)]
    last = LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first}.{last}{n}"


def _tag_names(count: int) -> list[str]:
    names = list(TOPICS)
    pairs = (f"{a}-{b}" for a in TOPICS for b in TOPICS if a != b)
    names.extend(islice(pairs, max(0, count - len(names))))
    return names[:count]


def _title(rng: random.Random, topic: str) -> str:
    pattern = rng.choice(TITLE_PATTERNS)
    return pattern.format(
        verb=rng.choice(VERBS),
        topic=topic.replace("-", " "),
        Topic=topic.replace("-", " ").capitalize(),
        thing=rng.choice(THINGS),
        adjective=rng.choice(ADJECTIVES),
    )


def _body(rng: random.Random, topic: str) -> str:
    def paragraph() -> str:
        return " ".join(rng.sample(SENTENCES, rng.randint(2, 4)))

    steps = "\n".join(f"{i}. {rng.choice(SENTENCES)}" for i in range(1, rng.randint(3, 5)))
    return (
        f"{paragraph()}\n\n## Where {topic.replace('-', ' ')} fits\n\n{paragraph()}\n\n"
        f"## Step by step\n\n{steps}\n\n```python\nresult = measure(before, after)\n```\n\n"
        f"{paragraph()}"
    )


def own_counts(tag_names: list[str]) -> dict[str, int]:
    """The demo content in the database: rows of demo users (and the tags demo articles draw
    from), never anyone else's."""
    users = User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}")
    articles = Article.objects.filter(author__in=users)
    return {
        "users": users.count(),
        "tags": Tag.objects.filter(name__in=tag_names).count(),
        "articles": articles.count(),
        "comments": Comment.objects.filter(author__in=users, article__in=articles).count(),
        "follows": Follow.objects.filter(follower__in=users, followee__in=users).count(),
        "favorites": Favorite.objects.filter(user__in=users, article__in=articles).count(),
    }


def _batched(items: list[Any], create: Any) -> None:
    for start in range(0, len(items), BATCH):
        create(items[start : start + BATCH])


class Command(BaseCommand):
    help = "Fills the database with deterministic demo content (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=12)
        parser.add_argument("--articles", type=int, default=40)
        parser.add_argument("--tags", type=int, default=20, help="Distinct tags to draw from.")
        parser.add_argument("--tags-per-article", type=int, default=3)
        parser.add_argument("--favorites", type=int, default=150)
        parser.add_argument("--follows", type=int, default=40)
        parser.add_argument("--comments", type=int, default=80)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        seed = options["seed"]

        def rng(part: str) -> random.Random:
            # One generator per part, so a part that has nothing left to add on a second run
            # does not shift what the next part draws.
            return random.Random(f"{seed}-{part}")  # noqa: S311 (demo data, not secrets)

        counts = {
            name: max(0, options[name])
            for name in ("users", "articles", "favorites", "follows", "comments")
        }
        if counts["users"] < 2 and any(counts[n] for n in ("articles", "follows")):
            counts["users"] = 2
        if connection.vendor == "postgresql":
            # A bulk load runs longer than the API's per-statement limit allows a request.
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")
        names = _tag_names(options["tags"])
        before = own_counts(names)
        with transaction.atomic():
            users = self._users(counts["users"])
            tags = self._tags(options["tags"])
            created = self._articles(
                rng("articles"), users, tags, counts["articles"], options["tags_per_article"]
            )
            self._comments(rng("comments"), users, created, counts["comments"])
            self._follows(rng("follows"), users, counts["follows"])
            self._favorites(rng("favorites"), users, counts["favorites"])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        after = own_counts(names)
        added = ", ".join(f"{after[kind] - before[kind]} {kind}" for kind in after)
        found = ", ".join(f"{before[kind]} {kind}" for kind in before)
        self.stdout.write(
            f"Demo content added: {added}. Already there: {found}. "
            f"Demo users sign in with password {DEMO_PASSWORD!r}."
        )

    def _users(self, count: int) -> list[int]:
        password = make_password(DEMO_PASSWORD)
        rows = [
            User(
                username=_username(n),
                email=f"{_username(n)}@{DEMO_EMAIL_DOMAIN}",
                password=password,
                bio=BIOS[n % len(BIOS)],
                # No image: frontends show their default avatar, and nothing is fetched from
                # a third party on a newcomer's first visit.
                image=None,
                date_joined=EPOCH - timedelta(days=400 - n % 365),
            )
            for n in range(count)
        ]
        _batched(rows, lambda batch: User.objects.bulk_create(batch, ignore_conflicts=True))
        ids = dict(
            User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").values_list(
                "username", "id"
            )
        )
        return [ids[_username(n)] for n in range(count)]

    def _tags(self, count: int) -> list[int]:
        names = _tag_names(count)
        Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
        ids = dict(Tag.objects.filter(name__in=names).values_list("name", "id"))
        return [ids[name] for name in names]

    def _articles(
        self, rng: random.Random, users: list[int], tags: list[int], count: int, per_article: int
    ) -> list[int]:
        """Creates the articles not there yet; answers the ids of those it created."""
        names = dict(Tag.objects.filter(pk__in=tags).values_list("id", "name"))
        # Popular tags are popular: weights fall off like a Zipf distribution.
        weights = [1 / (rank + 1) for rank in range(len(tags))]
        planned = []
        for n in range(count):
            chosen: set[int] = set()
            while tags and len(chosen) < min(per_article, len(tags)):
                chosen.add(rng.choices(tags, weights)[0])
            topic = names[min(chosen)] if chosen else rng.choice(TOPICS)
            title = _title(rng, topic)
            created = EPOCH - timedelta(milliseconds=rng.randint(0, 365 * 24 * 3600 * 1000))
            edited = created + timedelta(hours=rng.choice([0, 0, 0, 2, 30]))
            # One article in fifty is still a draft, for its author's eyes only.
            draft = n % DRAFT_EVERY == DRAFT_EVERY - 1
            planned.append(
                (
                    Article(
                        slug=f"{slugify(title)}-{n}",
                        title=title,
                        description=rng.choice(SENTENCES),
                        body=_body(rng, topic),
                        author_id=users[rng.randrange(len(users))],
                        status=ArticleStatus.DRAFT if draft else ArticleStatus.PUBLISHED,
                        created_at=created,
                        updated_at=edited,
                        published_at=None if draft else created,
                    ),
                    sorted(chosen),
                )
            )
        demo_articles = Article.objects.filter(author_id__in=users)
        existing = set(demo_articles.values_list("slug", flat=True))
        new = [(article, tag_ids) for article, tag_ids in planned if article.slug not in existing]
        for article, _ in new:
            article.render()
        _batched(
            [a for a, _ in new],
            lambda batch: Article.objects.bulk_create(batch, ignore_conflicts=True),
        )
        ids = dict(demo_articles.values_list("slug", "id"))
        links = [
            ArticleTag(article_id=ids[a.slug], tag_id=t) for a, tag_ids in new for t in tag_ids
        ]
        _batched(links, lambda batch: ArticleTag.objects.bulk_create(batch, ignore_conflicts=True))
        return [ids[a.slug] for a, _ in new]

    def _comments(
        self, rng: random.Random, users: list[int], articles: list[int], count: int
    ) -> None:
        if not articles:
            return
        # A handful of distinct comments: each rendered once.
        rendered = {body: markdown_render(body) for body in COMMENTS}
        rows = []
        for _ in range(count):
            when = EPOCH + timedelta(seconds=rng.randint(0, 30 * 24 * 3600))
            rows.append(
                Comment(
                    article_id=rng.choice(articles),
                    author_id=rng.choice(users),
                    body=(body := rng.choice(COMMENTS)),
                    body_html=rendered[body],
                    created_at=when,
                    updated_at=when,
                )
            )
        _batched(rows, Comment.objects.bulk_create)

    def _follows(self, rng: random.Random, users: list[int], count: int) -> None:
        count = min(count, len(users) * (len(users) - 1))
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < count:
            follower, followee = rng.sample(users, 2)
            pairs.add((follower, followee))
        rows = [Follow(follower_id=a, followee_id=b, created_at=EPOCH) for a, b in sorted(pairs)]
        _batched(rows, lambda batch: Follow.objects.bulk_create(batch, ignore_conflicts=True))

    def _favorites(self, rng: random.Random, users: list[int], count: int) -> None:
        articles = list(
            Article.objects.filter(author_id__in=users).order_by("id").values_list("id", flat=True)
        )
        count = min(count, len(users) * len(articles))
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < count:
            pairs.add((rng.choice(users), rng.choice(articles)))
        rows = [Favorite(user_id=u, article_id=a, created_at=EPOCH) for u, a in sorted(pairs)]
        _batched(rows, lambda batch: Favorite.objects.bulk_create(batch, ignore_conflicts=True))
