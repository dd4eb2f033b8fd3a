"""model-bakery recipes: realistic rows for the tests."""

from itertools import count

from django.utils import timezone
from model_bakery.recipe import Recipe, foreign_key, seq

from resources.models import Article, Comment, Tag, User

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
