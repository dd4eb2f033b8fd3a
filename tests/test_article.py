"""One article: create, read, update and delete; slugs, field limits and ownership."""

import re

import pytest
from django.utils import timezone

from resources import services
from resources.models import Article, Favorite, Follow, Tag
from tests import recipes
from tests.recipes import make_article

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NEW_ARTICLE = {
    "title": "How to train your dragon",
    "description": "Ever wonder how?",
    "body": "You have to believe",
    "tagList": ["training", "dragons"],
}


def create(client, **fields):
    return client.post("/api/articles", {"article": {**NEW_ARTICLE, **fields}}, format="json")


def author_of(user, following=False):
    return {"username": user.username, "bio": user.bio, "image": user.image, "following": following}


# --- Create -----------------------------------------------------------------------------------


def test_create_answers_201_with_the_whole_article(user, user_api):
    response = create(user_api)

    assert response.status_code == 201
    article = response.json()["article"]
    created_at = article.pop("createdAt")
    assert TIMESTAMP.match(created_at)
    assert article.pop("updatedAt") == created_at
    # Published as it is created, unless it is sent as a draft.
    assert article.pop("publishedAt") == created_at
    assert article == {
        "slug": "how-to-train-your-dragon",
        "title": "How to train your dragon",
        "description": "Ever wonder how?",
        "body": "You have to believe",
        "bodyHtml": "<p>You have to believe</p>\n",
        "readingTimeMinutes": 1,
        "tagList": ["dragons", "training"],
        "status": "published",
        "favorited": False,
        "favoritesCount": 0,
        "author": author_of(user),
    }
    assert Article.objects.get().author == user


def test_create_answers_what_a_read_then_answers(user_api):
    # The answer is made from the row written, not read back: it must be the same article.
    tags = ["Zebra", "apple", "Mango"]
    created = user_api.post(
        "/api/articles",
        {"article": {"title": "T", "description": "D", "body": "*B*", "tagList": tags}},
        format="json",
    ).json()

    assert created == user_api.get(f"/api/articles/{created['article']['slug']}").json()


def test_create_without_tags_gives_an_empty_tag_list(user_api):
    article = {"title": "T", "description": "D", "body": "B"}

    response = user_api.post("/api/articles", {"article": article}, format="json")

    assert response.status_code == 201
    assert response.json()["article"]["tagList"] == []


def test_tags_are_trimmed_deduplicated_and_sorted(user_api):
    response = create(user_api, tagList=["  zeta ", "alpha", "", "alpha", "   ", "mu"])

    assert response.status_code == 201
    assert response.json()["article"]["tagList"] == ["alpha", "mu", "zeta"]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["alpha", "mu", "zeta"]


def test_an_existing_tag_is_reused(user_api):
    Tag.objects.create(name="dragons")

    create(user_api)

    assert Tag.objects.filter(name="dragons").count() == 1


def test_create_ignores_fields_a_client_must_not_set(user, user_api, other_user):
    response = create(
        user_api,
        slug="my-own-slug",
        author={"username": "jane"},
        favoritesCount=99,
        favorited=True,
        createdAt="2001-01-01T00:00:00.000Z",
        updatedAt="2001-01-01T00:00:00.000Z",
        id=12345,
    )

    assert response.status_code == 201
    article = response.json()["article"]
    assert article["slug"] == "how-to-train-your-dragon"
    assert article["author"]["username"] == "jake"
    assert (article["favoritesCount"], article["favorited"]) == (0, False)
    assert not article["createdAt"].startswith("2001")
    assert Article.objects.get().pk != 12345


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"title": ""}, {"title": ["This field may not be blank."]}),
        ({"title": "   "}, {"title": ["This field may not be blank."]}),
        ({"title": "x" * 256}, {"title": ["Ensure this field has no more than 255 characters."]}),
        (
            {"description": "x" * 1001},
            {"description": ["Ensure this field has no more than 1000 characters."]},
        ),
        (
            {"body": "x" * 100_001},
            {"body": ["Ensure this field has no more than 100000 characters."]},
        ),
        ({"body": 12}, {"body": ["Not a valid string."]}),
        ({"title": None}, {"title": ["This field may not be null."]}),
        ({"title": "nul\x00byte"}, {"title": ["Null characters are not allowed."]}),
        ({"tagList": "dragons"}, {"tagList": ["Expected a list of tag names."]}),
        ({"tagList": [1, 2]}, {"tagList": ["Each tag must be a string."]}),
        ({"tagList": ["x" * 65]}, {"tagList": ["Each tag must have at most 64 characters."]}),
        (
            {"tagList": [f"t{n}" for n in range(11)]},
            {"tagList": ["An article has at most 10 tags."]},
        ),
        ({"tagList": ["a\x00"]}, {"tagList": ["Null characters are not allowed."]}),
    ],
)
def test_create_refuses_bad_fields_and_writes_nothing(user_api, fields, errors):
    response = create(user_api, **fields)

    assert response.status_code == 422
    assert response.json() == {"errors": errors}
    assert not Article.objects.exists()
    assert not Tag.objects.exists()


def test_create_names_every_missing_field(user_api):
    response = user_api.post("/api/articles", {"article": {}}, format="json")

    assert response.status_code == 422
    required = ["This field is required."]
    assert response.json() == {
        "errors": {"title": required, "description": required, "body": required}
    }


def test_create_with_the_limits_exactly_is_accepted(user_api):
    response = create(
        user_api,
        title="t" * 255,
        description="d" * 1000,
        body="b" * 100_000,
        tagList=[f"{n}" * 64 for n in range(10)],
    )

    assert response.status_code == 201


def test_create_needs_a_token(api):
    response = create(api)

    assert response.status_code == 401
    assert not Article.objects.exists()


# --- Slugs ------------------------------------------------------------------------------------


def test_the_same_title_twice_gets_two_slugs(user_api):
    first = create(user_api).json()["article"]["slug"]
    second = create(user_api).json()["article"]["slug"]

    assert first == "how-to-train-your-dragon"
    assert re.fullmatch(r"how-to-train-your-dragon-[a-z0-9]{6}", second)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Привет, мир", r"privet-mir"),
        ("Ελληνικά γράμματα", r"ellinika-grammata"),
        ("日本語のタイトル", r"[a-z0-9-]+"),
        ("Crème brûlée à la française", r"creme-brulee-a-la-francaise"),
        ("!!! ??? ...", r"article-[a-z0-9]{6}"),
        ("🐉🐉🐉", r"[a-z0-9-]+"),
        ("Feed", r"feed-[a-z0-9]{6}"),
    ],
)
def test_slugs_are_transliterated_and_always_valid(user_api, title, slug):
    response = create(user_api, title=title)

    assert response.status_code == 201
    made = response.json()["article"]["slug"]
    assert re.fullmatch(slug, made), made
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", made)
    assert user_api.get(f"/api/articles/{made}").status_code == 200


def test_a_long_title_gives_a_slug_that_fits(user_api):
    response = create(user_api, title="Дракон " * 36)

    slug = response.json()["article"]["slug"]
    assert response.status_code == 201
    assert len(slug) <= 255
    assert create(user_api, title="Дракон " * 36).status_code == 201


def test_feed_is_never_shadowed_by_an_article(user, user_api):
    create(user_api, title="feed")

    response = user_api.get("/api/articles/feed")

    assert response.status_code == 200
    assert response.json() == {"articles": [], "articlesCount": 0, "nextCursor": None}


# --- Read -------------------------------------------------------------------------------------


def test_anyone_can_read_an_article(api, user):
    article = make_article(user, tags=["b", "a"], slug="the-slug")

    response = api.get("/api/articles/the-slug")

    assert response.status_code == 200
    assert response.json() == {
        "article": {
            "slug": "the-slug",
            "title": article.title,
            "description": article.description,
            "body": article.body,
            "bodyHtml": "<p>It takes a Jacobian.</p>\n<h2>Step one</h2>\n<p>Believe.</p>\n",
            "readingTimeMinutes": 1,
            "tagList": ["a", "b"],
            "status": "published",
            "createdAt": article.created_at.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{article.created_at.microsecond // 1000:03d}Z",
            "updatedAt": article.updated_at.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{article.updated_at.microsecond // 1000:03d}Z",
            "publishedAt": article.published_at.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{article.published_at.microsecond // 1000:03d}Z",
            "favorited": False,
            "favoritesCount": 0,
            "author": author_of(user),
        }
    }


def test_timestamps_always_carry_milliseconds(api, user):
    whole_second = timezone.now().replace(microsecond=0)
    article = recipes.article.make(
        author=user, slug="s", created_at=whole_second, updated_at=whole_second
    )

    body = api.get(f"/api/articles/{article.slug}").json()["article"]

    assert body["createdAt"].endswith(".000Z")
    assert TIMESTAMP.match(body["createdAt"])


@pytest.mark.parametrize("slug", ["missing", "UPPER-case", "a_b"])
def test_an_unknown_slug_is_404(api, slug):
    response = api.get(f"/api/articles/{slug}")

    assert response.status_code == 404
    assert response.json() == {"errors": {"body": ["Article not found."]}}


@pytest.mark.parametrize(
    "path", ["/api/articles/%00", "/api/articles/%FF%FE", "/api/articles/a%2Fb", "/api/articles/ü"]
)
def test_junk_in_a_slug_is_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_viewer_fields_are_right_for_the_reader(user, other_user, other_api, user_api):
    article = make_article(user, slug="s")
    Favorite.objects.create(user=other_user, article=article)
    Follow.objects.create(follower=other_user, followee=user)

    as_other = other_api.get("/api/articles/s").json()["article"]
    as_author = user_api.get("/api/articles/s").json()["article"]

    assert (as_other["favorited"], as_other["favoritesCount"], as_other["author"]["following"]) == (
        True,
        1,
        True,
    )
    assert (
        as_author["favorited"],
        as_author["favoritesCount"],
        as_author["author"]["following"],
    ) == (False, 1, False)


# --- Update -----------------------------------------------------------------------------------


def test_update_is_partial_and_answers_the_article(user, user_api):
    article = make_article(user, tags=["keep"], slug="the-slug", title="Old title", minutes_ago=5)

    response = user_api.put(
        "/api/articles/the-slug", {"article": {"body": "New body"}}, format="json"
    )

    assert response.status_code == 200
    body = response.json()["article"]
    assert (body["slug"], body["title"], body["body"], body["tagList"]) == (
        "the-slug",
        "Old title",
        "New body",
        ["keep"],
    )
    assert body["updatedAt"] > body["createdAt"]
    article.refresh_from_db()
    assert article.body == "New body"


def test_a_new_title_gives_a_new_slug_and_the_old_one_is_gone(user, user_api):
    make_article(user, slug="old-title", title="Old title")

    response = user_api.put(
        "/api/articles/old-title", {"article": {"title": "Brand new title"}}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["article"]["slug"] == "brand-new-title"
    assert user_api.get("/api/articles/old-title").status_code == 404
    assert user_api.get("/api/articles/brand-new-title").status_code == 200


def test_resending_the_same_title_keeps_the_slug(user, user_api):
    make_article(user, slug="old-title-abc123", title="Old title")

    response = user_api.put(
        "/api/articles/old-title-abc123",
        {"article": {"title": "Old title", "body": "x"}},
        format="json",
    )

    assert response.json()["article"]["slug"] == "old-title-abc123"


def test_a_new_title_whose_slug_is_taken_gets_a_suffix(user, user_api):
    make_article(user, slug="taken-title", title="Taken title")
    make_article(user, slug="mine", title="Mine")

    response = user_api.put(
        "/api/articles/mine", {"article": {"title": "Taken Title"}}, format="json"
    )

    assert response.status_code == 200
    assert re.fullmatch(r"taken-title-[a-z0-9]{6}", response.json()["article"]["slug"])


def test_update_replaces_tags_when_given(user, user_api):
    make_article(user, tags=["old", "keep"], slug="s")

    response = user_api.put(
        "/api/articles/s", {"article": {"tagList": ["keep", "new"]}}, format="json"
    )

    assert response.json()["article"]["tagList"] == ["keep", "new"]
    assert user_api.get("/api/tags").json() == {"tags": ["keep", "new"]}


def test_update_ignores_fields_a_client_must_not_set(user, other_user, user_api):
    make_article(user, slug="s")

    response = user_api.put(
        "/api/articles/s",
        {
            "article": {
                "slug": "hijack",
                "author": "jane",
                "favoritesCount": 5,
                "createdAt": "2001-01-01T00:00:00Z",
            }
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()["article"]
    assert (body["slug"], body["author"]["username"], body["favoritesCount"]) == ("s", "jake", 0)


def test_update_refuses_bad_fields_and_changes_nothing(user, user_api):
    article = make_article(user, slug="s", title="Keep")

    response = user_api.put(
        "/api/articles/s", {"article": {"title": "", "body": "changed"}}, format="json"
    )

    assert response.status_code == 422
    assert response.json() == {"errors": {"title": ["This field may not be blank."]}}
    article.refresh_from_db()
    assert (article.title, article.body) == ("Keep", recipes.article.attr_mapping["body"])


def test_only_the_author_may_update(user, other_api):
    article = make_article(user, slug="s", title="Mine")

    response = other_api.put("/api/articles/s", {"article": {"title": "Theirs"}}, format="json")

    assert response.status_code == 403
    assert response.json() == {"errors": {"body": ["Only the author may change or delete this."]}}
    article.refresh_from_db()
    assert (article.title, article.slug) == ("Mine", "s")


def test_update_of_an_unknown_article_is_404(user_api):
    response = user_api.put("/api/articles/nope", {"article": {"title": "x"}}, format="json")

    assert response.status_code == 404


def test_an_article_deleted_while_it_is_updated_is_404(user, user_api, monkeypatch):
    recipes.article.make(author=user, slug="s")
    update = services.article_update

    def update_then_lose_it(*, article, **changes):
        update(article=article, **changes)
        Article.objects.filter(pk=article.pk).delete()  # another request, in between

    monkeypatch.setattr(services, "article_update", update_then_lose_it)
    response = user_api.put("/api/articles/s", {"article": {"body": "new"}}, format="json")

    assert response.status_code == 404
    assert response.json() == {"errors": {"body": ["Article not found."]}}


def test_update_needs_a_token(api, user):
    make_article(user, slug="s")

    assert api.put("/api/articles/s", {"article": {"title": "x"}}, format="json").status_code == 401


# --- Delete -----------------------------------------------------------------------------------


def test_the_author_deletes_with_204_and_comments_and_favorites_go_too(user, other_user, user_api):
    article = make_article(user, slug="s", tags=["t"])
    recipes.comment.make(article=article, author=other_user)
    Favorite.objects.create(user=other_user, article=article)

    response = user_api.delete("/api/articles/s")

    assert response.status_code == 204
    assert response.content == b""
    assert not Article.objects.exists()
    assert not Favorite.objects.exists()
    assert user_api.get("/api/articles/s").status_code == 404


def test_only_the_author_may_delete(user, other_api):
    make_article(user, slug="s")

    response = other_api.delete("/api/articles/s")

    assert response.status_code == 403
    assert Article.objects.filter(slug="s").exists()


def test_delete_needs_a_token(api, user):
    make_article(user, slug="s")

    assert api.delete("/api/articles/s").status_code == 401
    assert Article.objects.exists()


def test_delete_of_an_unknown_article_is_404(user_api):
    assert user_api.delete("/api/articles/nope").status_code == 404


# --- Markdown, rendered when written ----------------------------------------------------------


def test_the_body_is_rendered_once_when_written_and_again_when_it_changes(user_api):
    slug = create(user_api, body="# Dragons\n\n- *fly*\n- <script>x()</script>breathe").json()[
        "article"
    ]["slug"]
    rendered = "<h1>Dragons</h1>\n<ul>\n<li><em>fly</em></li>\n<li>\nbreathe</li>\n</ul>\n"
    assert user_api.get(f"/api/articles/{slug}").json()["article"]["bodyHtml"] == rendered

    retitled = user_api.put(
        f"/api/articles/{slug}", {"article": {"description": "new"}}, format="json"
    )
    assert retitled.json()["article"]["bodyHtml"] == rendered

    rewritten = user_api.put(
        f"/api/articles/{slug}", {"article": {"body": "~~gone~~"}}, format="json"
    )
    assert rewritten.json()["article"]["bodyHtml"] == "<p><s>gone</s></p>\n"
    assert Article.objects.get().body_html == "<p><s>gone</s></p>\n"


@pytest.mark.parametrize(("words", "minutes"), [(1, 1), (265, 1), (266, 2), (1000, 4)])
def test_reading_time_counts_the_body_at_265_words_a_minute(user_api, words, minutes):
    article = create(user_api, body=" ".join(["word"] * words)).json()["article"]

    assert article["readingTimeMinutes"] == minutes
    listed = user_api.get("/api/articles").json()["articles"][0]
    assert listed["readingTimeMinutes"] == minutes
