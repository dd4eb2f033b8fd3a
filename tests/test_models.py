"""Invariants the database itself guarantees, whatever code path writes."""

import pytest
from django.db import IntegrityError, transaction

from resources.models import ArticleTag, Comment, Favorite, Follow, Tag, User
from tests import recipes

pytestmark = pytest.mark.django_db


def violates(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_usernames_are_unique_in_any_letter_case():
    recipes.user.make(username="Alice")

    assert violates(lambda: recipes.user.make(username="alice"))
    assert violates(lambda: recipes.user.make(username="ALICE"))


def test_emails_are_unique_in_any_letter_case():
    recipes.user.make(email="alice@example.com")

    assert violates(lambda: recipes.user.make(email="Alice@Example.COM"))


def test_following_is_unique_and_never_yourself():
    alice, bob = recipes.user.make(_quantity=2)
    Follow.objects.create(follower=alice, followee=bob)

    assert violates(lambda: Follow.objects.create(follower=alice, followee=bob))
    assert violates(lambda: Follow.objects.create(follower=alice, followee=alice))


def test_favorites_tags_and_slugs_are_unique():
    article = recipes.article.make(slug="the-slug")
    tag = Tag.objects.create(name="dragons")
    Favorite.objects.create(user=article.author, article=article)
    ArticleTag.objects.create(article=article, tag=tag)

    assert violates(lambda: Favorite.objects.create(user=article.author, article=article))
    assert violates(lambda: ArticleTag.objects.create(article=article, tag=tag))
    assert violates(lambda: Tag.objects.create(name="dragons"))
    assert violates(lambda: recipes.article.make(slug="the-slug"))


def test_deleting_an_article_deletes_its_comments_favorites_and_tag_links():
    article = recipes.article.make()
    recipes.comment.make(article=article, _quantity=2)
    Favorite.objects.create(user=article.author, article=article)
    ArticleTag.objects.create(article=article, tag=Tag.objects.create(name="dragons"))

    article.delete()

    assert not Comment.objects.exists()
    assert not Favorite.objects.exists()
    assert not ArticleTag.objects.exists()
    assert Tag.objects.filter(name="dragons").exists()
    assert User.objects.filter(pk=article.author_id).exists()
