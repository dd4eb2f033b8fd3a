"""Realistic rows for the tests: model-bakery recipes, a known password, dated articles."""

import functools
from datetime import timedelta
from itertools import count

from django.contrib.auth.hashers import make_password
from django.utils import timezone
from model_bakery.recipe import Recipe, foreign_key, seq

from resources.models import Article, ArticleTag, Comment, Tag, User

PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash() -> str:
    # Argon2 is slow on purpose; hash the shared test password once per run.
    return make_password(PASSWORD)


_numbers = count(1)

user = Recipe(
    User,
    username=seq("reader"),
    email=seq("reader", suffix="@example.com"),
    bio="Writes about distributed systems and sourdough.",
    image=None,
    is_active=True,
)

tag = Recipe(Tag, name=seq("topic-"))

article = Recipe(
    Article,
    slug=seq("how-to-train-your-dragon-"),
    title=seq("How to train your dragon "),
    description="Ever wonder how?",
    body="It takes a Jacobian.\n\n## Step one\n\nBelieve.",
    author=foreign_key(user),
    created_at=timezone.now,
    updated_at=timezone.now,
)

comment = Recipe(
    Comment,
    body="Thank you, this was useful.",
    article=foreign_key(article),
    author=foreign_key(user),
    created_at=timezone.now,
    updated_at=timezone.now,
)


def make_article(author, *, tags=(), minutes_ago=0, **fields):
    """An article by `author`, written `minutes_ago`, with the named tags (made if new)."""
    when = timezone.now() - timedelta(minutes=minutes_ago)
    made = article.make(author=author, created_at=when, updated_at=when, **fields)
    for name in tags:
        ArticleTag.objects.create(article=made, tag=Tag.objects.get_or_create(name=name)[0])
    return made
