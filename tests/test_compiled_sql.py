"""Queries compiled once (resources/compiled_sql.py) answer exactly what their plain querysets
answer, for every kind of list, filter combination, reader and lookup."""

from itertools import product

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from resources.listing import ArticleListing
from resources.models import Article, ArticleTag, Favorite, Follow, Tag, User
from tests import recipes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Three authors, a reader who follows two of them and favorites some articles, tags."""
    reader, *authors = recipes.user.make(_quantity=4)
    Follow.objects.bulk_create([Follow(follower=reader, followee=a) for a in authors[:2]])
    tags = [Tag.objects.create(name=name) for name in ("dragons", "training", "Dragons")]
    articles = []
    for n in range(12):
        article = recipes.article.make(author=authors[n % 3])
        articles.append(article)
        for tag in tags[: n % 4]:
            ArticleTag.objects.create(article=article, tag=tag)
        if n % 3 != 1:
            Favorite.objects.create(user=reader, article=article)
    return reader, authors, articles


def plain_page(listing: ArticleListing) -> tuple[list, int]:
    """The same page through the ORM, compiled afresh with the request's own values."""
    ids, total = listing.ids_and_total(connection.vendor)
    rows = list(Article.objects.for_list(listing.viewer).filter(pk__in=ids))
    counted = Article.objects.annotate(total=total).values_list("total", flat=True).first() or 0
    return rows, counted


@pytest.mark.parametrize(
    ("signed_in", "feed", "tag", "author", "favorited", "offset", "limit"),
    [
        (signed_in, feed, tag, author, favorited, offset, limit)
        for signed_in, feed, tag, author, favorited in product(
            [False, True], [False, True], ["", "dragons", "missing"], [False, True], [False, True]
        )
        if signed_in or not feed
        for offset, limit in [(0, 20), (2, 3), (50, 5)]
    ],
)
def test_a_page_answers_what_its_queryset_answers(
    world, signed_in, feed, tag, author, favorited, offset, limit
):
    reader, authors, _ = world
    listing = ArticleListing(
        reader if signed_in else AnonymousUser(),
        tag=tag,
        author=authors[0].username.upper() if author else "",
        favorited=reader.username if favorited else "",
        feed=feed,
        offset=offset,
        limit=limit,
    )

    page = listing.page()

    assert page == plain_page(listing)
    if (feed, tag, author, favorited, offset) == (False, "", False, False, 0):
        assert (len(page[0]), page[1]) == (12, 12)


@pytest.mark.parametrize("signed_in", [False, True])
def test_one_article_answers_what_its_queryset_answers(world, signed_in):
    reader, _, articles = world
    viewer = reader if signed_in else AnonymousUser()
    for article in [*articles, Article(pk=10**9, slug="missing")]:
        plain = list(Article.objects.filter(pk=article.pk).with_viewer(viewer))
        expected = plain[0] if plain else None

        assert Article.objects.row(viewer, slug=article.slug) == expected
        assert Article.objects.row(viewer, pk=article.pk) == expected


def test_the_signed_in_user_and_the_popular_tags_answer_what_their_querysets_answer(world):
    reader, *_ = world
    inactive = recipes.user.make(is_active=False)

    assert User.objects.active(reader.pk) == User.objects.get(pk=reader.pk)
    assert User.objects.active(reader.pk).email == reader.email
    assert User.objects.active(inactive.pk) is None
    assert User.objects.active(10**9) is None
    assert Tag.objects.popular_names() == list(Tag.objects.popular().values_list("name", flat=True))
