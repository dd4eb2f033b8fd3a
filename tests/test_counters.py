"""What the database keeps by triggers is always right, whichever code path writes (the API, bulk
loads, the admin, cascading deletes, publishing and unpublishing): the counters of migrations
0002 and 0004 equal what they count, and the article dates copied by migration 0004 equal the
articles'."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from resources.models import Article, ArticleStatus, ArticleTag, Favorite, Tag, Totals, User
from tests import recipes
from tests.clients import client_for

pytestmark = pytest.mark.django_db


def assert_counters_exact():
    """Every counter counts what the public sees: published articles (favorites count on
    every article)."""
    published = Article.objects.filter(status=ArticleStatus.PUBLISHED)
    assert Totals.objects.get(pk=1).articles == published.count()
    for user in User.objects.annotate(real=Count("articles", filter=Q(articles__in=published))):
        assert user.articles_count == user.real, user
    for tag in Tag.objects.annotate(real=Count("articles", filter=Q(articles__in=published))):
        assert tag.articles_count == tag.real, tag
    favorites = dict(
        Favorite.objects.values("article").annotate(n=Count("id")).values_list("article", "n")
    )
    for article in Article.objects.all():
        assert article.favorites_count == favorites.get(article.pk, 0), article


def test_counters_follow_the_api(user, other_user):
    author, reader = client_for(user), client_for(other_user)
    slugs = []
    for n in range(4):
        body = {
            "article": {
                "title": f"Post {n}",
                "description": "d",
                "body": "b",
                "tagList": ["a", f"t{n}"],
            }
        }
        slugs.append(author.post("/api/articles", body, format="json").json()["article"]["slug"])
    for slug in slugs[:3]:
        reader.post(f"/api/articles/{slug}/favorite")
        author.post(f"/api/articles/{slug}/favorite")
    reader.delete(f"/api/articles/{slugs[0]}/favorite")
    author.put(f"/api/articles/{slugs[1]}", {"article": {"tagList": ["b", "t1"]}}, format="json")
    author.delete(f"/api/articles/{slugs[2]}")

    assert_counters_exact()
    assert author.get("/api/articles").json()["articlesCount"] == 3
    assert author.get("/api/articles?tag=a").json()["articlesCount"] == 2
    assert author.get("/api/articles/" + slugs[1]).json()["article"]["favoritesCount"] == 2


def test_counters_follow_bulk_loads_and_cascading_deletes():
    call_command("seed_demo", "--users", "8", "--articles", "60", "--favorites", "120")
    assert_counters_exact()

    User.objects.order_by("pk")[0].delete()
    Tag.objects.order_by("pk")[0].delete()
    Article.objects.filter(pk__in=Article.objects.order_by("pk").values("pk")[:10]).delete()
    ArticleTag.objects.filter(pk__in=ArticleTag.objects.order_by("-pk").values("pk")[:15]).delete()
    Favorite.objects.filter(pk__in=Favorite.objects.order_by("pk").values("pk")[:30]).delete()

    assert_counters_exact()


def test_counters_follow_an_article_moved_to_another_author(user, other_user):
    article = recipes.article.make(author=user)

    Article.objects.filter(pk=article.pk).update(author=other_user)

    assert_counters_exact()


def test_the_admin_keeps_counters_exact(client, make_user):
    staff = make_user(username="mod", email="mod@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    call_command("seed_demo", "--users", "4", "--articles", "10", "--favorites", "20")
    article = Article.objects.order_by("pk")[0]

    client.post(f"/admin/resources/article/{article.pk}/delete/", {"post": "yes"})
    victim = User.objects.exclude(pk=staff.pk).order_by("pk")[0]
    client.post(f"/admin/resources/user/{victim.pk}/delete/", {"post": "yes"})

    assert not User.objects.filter(pk=victim.pk).exists()
    assert_counters_exact()


def assert_article_dates_copied():
    """Link rows carry their article's published_at while it is published, NULL otherwise."""
    listed = {
        pk: published_at if status == ArticleStatus.PUBLISHED else None
        for pk, status, published_at in Article.objects.values_list("pk", "status", "published_at")
    }
    for link in ArticleTag.objects.all():
        assert link.article_published_at == listed[link.article_id], link
    for favorite in Favorite.objects.all():
        assert favorite.article_published_at == listed[favorite.article_id], favorite


def test_tag_links_and_favorites_carry_their_articles_date(user, other_user):
    client_for(user).post(
        "/api/articles",
        {"article": {"title": "T", "description": "d", "body": "b", "tagList": ["x", "y"]}},
        format="json",
    )
    call_command("seed_demo", "--users", "5", "--articles", "20", "--favorites", "40")
    client_for(other_user).post("/api/articles/t/favorite")
    assert_article_dates_copied()

    first = Article.objects.order_by("pk").values("pk")
    Article.objects.filter(pk__in=first[:5]).update(
        published_at=timezone.now() - timedelta(days=400)
    )
    assert_article_dates_copied()

    # Unpublished, then published again: the copies follow, and so do the counters.
    Article.objects.filter(pk__in=first[3:8]).update(status=ArticleStatus.DRAFT)
    assert_article_dates_copied()
    assert_counters_exact()
    Article.objects.filter(pk__in=first[3:6]).update(status=ArticleStatus.PUBLISHED)
    assert_article_dates_copied()
    assert_counters_exact()
