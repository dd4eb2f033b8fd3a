"""Every endpoint runs a fixed number of SQL statements, whatever the page size: pinned here for
1 row and for 20 rows (articles on a page, comments on an article, tags on an article)."""

import pytest

from resources.models import ArticleTag, Favorite, Follow, Tag
from tests import recipes
from tests.recipes import PASSWORD

pytestmark = pytest.mark.django_db

ROWS = [1, 20]


@pytest.fixture
def world(user, other_user):
    """`user` follows `other_user`, who wrote the articles; every article has tags and
    favorites, so every annotation has rows to count."""
    Follow.objects.create(follower=user, followee=other_user)
    tags = [Tag.objects.create(name=f"tag{n}") for n in range(3)]

    def articles(count):
        made = recipes.article.make(author=other_user, _quantity=count)
        ArticleTag.objects.bulk_create([ArticleTag(article=a, tag=t) for a in made for t in tags])
        Favorite.objects.bulk_create([Favorite(user=user, article=a) for a in made])
        return made

    return articles


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize(
    ("path", "anonymous", "signed_in"),
    [
        # One statement: the page, its annotations and the exact count; plus the reader.
        ("/api/articles", 1, 2),
        ("/api/articles?tag=tag1", 1, 2),
        ("/api/articles?author=jane", 1, 2),
        ("/api/articles?favorited=jake", 1, 2),
        ("/api/articles?tag=tag1&author=jane&favorited=jake", 1, 2),
        ("/api/articles?search=dragon", 1, 2),
        ("/api/articles?search=dragon&tag=tag1&author=jane", 1, 2),
    ],
)
def test_article_lists(api, user_api, world, query_budget, rows, path, anonymous, signed_in):
    world(rows)

    with query_budget(anonymous):
        assert len(api.get(path).json()["articles"]) == rows
    with query_budget(signed_in):
        assert len(user_api.get(path).json()["articles"]) == rows


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize(
    ("path", "anonymous", "signed_in"),
    [
        # A page after a cursor: the same one statement, plus the reader.
        ("/api/articles?", 1, 2),
        ("/api/articles?tag=tag1&", 1, 2),
        ("/api/articles?author=jane&", 1, 2),
        ("/api/articles?favorited=jake&", 1, 2),
        ("/api/articles?tag=tag1&author=jane&favorited=jake&", 1, 2),
        ("/api/articles/feed?", None, 2),
    ],
)
def test_article_lists_after_a_cursor(
    api, user_api, world, query_budget, rows, path, anonymous, signed_in
):
    world(rows * 2)
    cursor = user_api.get(f"{path}limit={rows}").json()["nextCursor"]

    if anonymous is not None:
        with query_budget(anonymous):
            assert len(api.get(f"{path}limit={rows}&cursor={cursor}").json()["articles"]) == rows
    with query_budget(signed_in):
        assert len(user_api.get(f"{path}limit={rows}&cursor={cursor}").json()["articles"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_own_articles_after_a_cursor(user, user_api, query_budget, rows):
    recipes.article.make(author=user, _quantity=rows * 2)
    cursor = user_api.get(f"/api/user/articles?limit={rows}").json()["nextCursor"]

    with query_budget(2):
        body = user_api.get(f"/api/user/articles?limit={rows}&cursor={cursor}").json()
    assert len(body["articles"]) == rows


@pytest.mark.parametrize("rows", ROWS)
def test_feed(user_api, world, query_budget, rows):
    world(rows)

    with query_budget(2):
        assert len(user_api.get("/api/articles/feed").json()["articles"]) == rows


@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize("query", ["", "&status=draft", "&status=published"])
def test_own_articles(user, user_api, query_budget, rows, query):
    recipes.article.make(author=user, status="draft", _quantity=rows)
    recipes.article.make(author=user, _quantity=rows)

    # The reader, then the page with its count.
    with query_budget(2):
        body = user_api.get(f"/api/user/articles?limit=100{query}").json()
    assert len(body["articles"]) == body["articlesCount"] == rows * (1 if query else 2)


@pytest.mark.parametrize("tags", ROWS)
def test_single_article(api, user_api, other_user, query_budget, tags):
    article = recipes.article.make(author=other_user, slug="s")
    names = [f"t{n}" for n in range(tags)]
    ArticleTag.objects.bulk_create(
        [ArticleTag(article=article, tag=Tag.objects.create(name=n)) for n in names]
    )

    with query_budget(1):
        assert api.get("/api/articles/s").json()["article"]["tagList"] == sorted(names)
    with query_budget(2):
        assert user_api.get("/api/articles/s").status_code == 200


# The reader, then the tag upsert, the article and its tag links; the answer is made from the
# row just written, not read back (one statement fewer than before).
@pytest.mark.parametrize(("tags", "statements"), [(0, 2), (1, 4), (3, 4), (10, 4)])
def test_create_article_does_not_grow_with_tags(user_api, query_budget, tags, statements):
    article = {
        "title": "T",
        "description": "D",
        "body": "B",
        "tagList": [f"t{n}" for n in range(tags)],
    }

    with query_budget(statements):
        assert (
            user_api.post("/api/articles", {"article": article}, format="json").status_code == 201
        )


@pytest.mark.parametrize("tags", [1, 10])
def test_update_article(user, user_api, query_budget, tags):
    recipes.article.make(author=user, slug="s")

    with query_budget(4):
        response = user_api.put("/api/articles/s", {"article": {"body": "new"}}, format="json")
        assert response.status_code == 200
    change = {"title": "New title", "tagList": [f"t{n}" for n in range(tags)]}
    # + the current tags, the upsert that locks old and new tags, the unlink and the link.
    with query_budget(8):
        response = user_api.put("/api/articles/s", {"article": change}, format="json")
        assert response.status_code == 200


@pytest.mark.parametrize("rows", ROWS)
def test_delete_article(user, user_api, other_user, query_budget, rows):
    article = recipes.article.make(author=user, slug="s")
    recipes.comment.make(article=article, _quantity=rows)
    Favorite.objects.bulk_create(
        [Favorite(user=u, article=article) for u in recipes.user.make(_quantity=rows)]
    )

    # user, article, row lock, then one DELETE each for tag links, favorites, comments, article
    with query_budget(7):
        assert user_api.delete("/api/articles/s").status_code == 204


@pytest.mark.parametrize("rows", ROWS)
def test_favorite_and_unfavorite(user_api, world, query_budget, rows):
    [article] = world(1)
    Favorite.objects.bulk_create(
        [Favorite(user=u, article=article) for u in recipes.user.make(_quantity=rows)]
    )
    path = f"/api/articles/{article.slug}/favorite"

    with query_budget(4):
        assert user_api.delete(path).status_code == 200
    with query_budget(4):
        assert user_api.post(path).status_code == 200


@pytest.mark.parametrize("rows", ROWS)
def test_comments(api, user_api, other_user, query_budget, rows):
    article = recipes.article.make(author=other_user, slug="s")
    recipes.comment.make(article=article, _quantity=rows)

    with query_budget(2):
        assert len(api.get("/api/articles/s/comments").json()["comments"]) == rows
    with query_budget(3):
        assert len(user_api.get("/api/articles/s/comments").json()["comments"]) == rows
    with query_budget(3):
        response = user_api.post(
            "/api/articles/s/comments", {"comment": {"body": "x"}}, format="json"
        )
        assert response.status_code == 200
    comment_id = response.json()["comment"]["id"]
    with query_budget(3):
        assert user_api.delete(f"/api/articles/s/comments/{comment_id}").status_code == 204


def test_an_empty_page_counts_in_a_second_statement(api, world, query_budget):
    world(3)

    with query_budget(2):
        body = api.get("/api/articles?offset=50").json()
    assert body == {"articles": [], "articlesCount": 3, "nextCursor": None}


@pytest.mark.parametrize("rows", ROWS)
def test_tags(api, world, query_budget, rows):
    world(rows)

    with query_budget(1):
        assert api.get("/api/tags").status_code == 200


def test_profiles_and_follows(api, user_api, other_user, query_budget):
    with query_budget(1):
        assert api.get("/api/profiles/jane").status_code == 200
    with query_budget(2):
        assert user_api.get("/api/profiles/jane").status_code == 200
    with query_budget(4):
        assert user_api.post("/api/profiles/jane/follow").status_code == 200
    with query_budget(4):
        assert user_api.delete("/api/profiles/jane/follow").status_code == 200


def test_users(api, user, user_api, query_budget):
    with query_budget(1):
        new = {"username": "new", "email": "new@example.com", "password": "password123"}
        assert api.post("/api/users", {"user": new}, format="json").status_code == 201
    with query_budget(1):
        login = {"email": "jake@jake.jake", "password": PASSWORD}
        assert api.post("/api/users/login", {"user": login}, format="json").status_code == 200
    with query_budget(1):
        assert user_api.get("/api/user").status_code == 200
    with query_budget(2):
        assert user_api.put("/api/user", {"user": {"bio": "x"}}, format="json").status_code == 200


# Outside /api: feeds, sitemaps and pages, the same for every reader. `world` gives jane's
# articles the tags tag0..tag2.
@pytest.mark.parametrize("rows", ROWS)
@pytest.mark.parametrize(
    ("path", "statements"),
    [
        # The entries with their tags and authors; a tag or author is looked up first.
        ("/feeds/articles.atom", 1),
        ("/feeds/articles.rss", 1),
        ("/feeds/tags/tag1.atom", 2),
        ("/feeds/authors/jane.atom", 2),
        ("/articles", 1),
        ("/tags/tag1", 2),
        ("/profiles/jane", 2),
        # The published count (a counter row) and the authors' count.
        ("/sitemap.xml", 2),
        # The page's first row, then the page read on from it.
        ("/sitemap-articles.xml", 2),
        ("/sitemap-profiles.xml", 2),
        ("/sitemap-pages.xml", 0),
    ],
)
def test_feeds_sitemaps_and_pages(api, world, public_site, query_budget, rows, path, statements):
    world(rows)

    with query_budget(statements):
        response = api.get(path)
        assert response.status_code == 200
        content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content


@pytest.mark.parametrize("rows", ROWS)
def test_article_page(api, world, public_site, query_budget, rows):
    slug = world(rows)[0].slug

    with query_budget(1):
        assert api.get(f"/articles/{slug}").status_code == 200


def test_a_token_verified_before_costs_no_statement(user_api, world, query_budget):
    # Each process remembers the tokens it verified for TOKEN_USER_CACHE_SECONDS: the reader's
    # statement is spent on the first request only.
    [article] = world(1)
    with query_budget(2):
        assert user_api.get("/api/articles").status_code == 200
    with query_budget(1, warm=True):
        assert user_api.get("/api/articles").status_code == 200
    with query_budget(1, warm=True):
        assert user_api.get("/api/articles/feed").status_code == 200
    with query_budget(1, warm=True):
        assert user_api.get(f"/api/articles/{article.slug}").status_code == 200
    new = {"title": "T", "description": "D", "body": "B", "tagList": ["t"]}
    with query_budget(3, warm=True):
        assert user_api.post("/api/articles", {"article": new}, format="json").status_code == 201
