"""Drafts and publishing: a draft is its author's alone, and for everyone else it does not exist;
publishing sets publishedAt once; the reader's own articles, drafts included."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from resources.models import Article, ArticleStatus, Favorite, Follow, User
from tests import recipes
from tests.clients import client_for, http_client

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def create(client, title="A draft", **fields):
    article = {"title": title, "description": "d", "body": "b", "tagList": ["secret"], **fields}
    return client.post("/api/articles", {"article": article}, format="json")


def update(client, slug, **fields):
    return client.put(f"/api/articles/{slug}", {"article": fields}, format="json")


@pytest.fixture
def draft(user, user_api) -> str:
    response = create(user_api, status="draft")
    assert response.status_code == 201
    return response.json()["article"]["slug"]


def test_an_article_sent_as_a_draft_is_a_draft(user_api):
    response = create(user_api, status="draft")

    assert response.status_code == 201
    article = response.json()["article"]
    assert (article["status"], article["publishedAt"]) == ("draft", None)
    assert Article.objects.get().status == ArticleStatus.DRAFT


def test_an_article_sent_without_a_status_is_published(user_api):
    article = create(user_api).json()["article"]

    assert article["status"] == "published"
    assert article["publishedAt"] == article["createdAt"]


@pytest.mark.parametrize("status", ["", "Draft", "archived", None, 1, ["draft"]])
def test_an_unknown_status_is_refused(user_api, status):
    response = create(user_api, status=status)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["status"]
    assert not Article.objects.exists()


def test_the_author_reads_their_draft(user_api, draft):
    response = user_api.get(f"/api/articles/{draft}")

    assert response.status_code == 200
    assert response.json()["article"]["status"] == "draft"


@pytest.mark.parametrize("reader", ["anonymous", "someone else"])
def test_for_anyone_else_a_draft_does_not_exist(reader, other_api, draft):
    client = http_client() if reader == "anonymous" else other_api
    not_found = {"errors": {"body": ["Article not found."]}}
    path = f"/api/articles/{draft}"

    answers = [
        client.get(path),
        client.put(path, {"article": {"title": "Mine now"}}, format="json"),
        client.delete(path),
        client.post(f"{path}/favorite"),
        client.delete(f"{path}/favorite"),
        client.get(f"{path}/comments"),
        client.post(f"{path}/comments", {"comment": {"body": "hi"}}, format="json"),
        client.delete(f"{path}/comments/1"),
    ]

    for response in answers:
        # Anonymous writes need a token first; everything else is a 404, never a 403.
        assert response.status_code in ({401} if reader == "anonymous" else set()) | {404}
        if response.status_code == 404:
            assert response.json() == not_found
    assert Article.objects.get().title == "A draft"
    assert not Favorite.objects.exists()


def test_a_draft_is_absent_from_every_list_count_and_the_tags(user, user_api, other_api, draft):
    other = recipes.user.make()
    Follow.objects.create(follower=other, followee=user)
    Favorite.objects.create(user=user, article=Article.objects.get(slug=draft))
    follower = client_for(other)
    paths = [
        "/api/articles",
        "/api/articles?tag=secret",
        f"/api/articles?author={user.username}",
        f"/api/articles?favorited={user.username}",
        f"/api/articles?tag=secret&author={user.username}&favorited={user.username}",
    ]

    for client in (http_client(), other_api, follower, user_api):
        for path in paths:
            assert client.get(path).json() == {
                "articles": [],
                "articlesCount": 0,
                "nextCursor": None,
            }, path
        assert client.get("/api/tags").json() == {"tags": []}
    assert follower.get("/api/articles/feed").json() == {
        "articles": [],
        "articlesCount": 0,
        "nextCursor": None,
    }


def test_publishing_sets_published_at_and_lists_the_article_first(user, user_api, other_api):
    week_ago = timezone.now() - timedelta(days=7)
    slug = create(user_api, status="draft").json()["article"]["slug"]
    Article.objects.filter(slug=slug).update(created_at=week_ago, updated_at=week_ago)
    recipes.article.make(author=user, created_at=timezone.now() - timedelta(days=1))

    published = update(user_api, slug, status="published").json()["article"]

    assert published["status"] == "published"
    assert TIMESTAMP.match(published["publishedAt"])
    assert published["publishedAt"] > published["createdAt"]
    listed = other_api.get("/api/articles").json()
    assert listed["articles"][0]["slug"] == slug
    assert listed["articlesCount"] == 2
    assert other_api.get("/api/tags").json() == {"tags": ["secret"]}


def test_published_at_is_kept_when_unpublished_and_published_again(user_api, other_api):
    slug = create(user_api).json()["article"]["slug"]
    first = user_api.get(f"/api/articles/{slug}").json()["article"]["publishedAt"]

    unpublished = update(user_api, slug, status="draft").json()["article"]
    assert (unpublished["status"], unpublished["publishedAt"]) == ("draft", first)
    assert other_api.get(f"/api/articles/{slug}").status_code == 404
    assert other_api.get("/api/articles").json()["articlesCount"] == 0

    republished = update(user_api, slug, status="published").json()["article"]
    assert (republished["status"], republished["publishedAt"]) == ("published", first)
    assert other_api.get(f"/api/articles/{slug}").status_code == 200


def test_a_published_article_may_take_a_slug_a_draft_holds(user, user_api, other_api, draft):
    published = create(other_api).json()["article"]

    # Nothing tells the other author that a draft holds the slug.
    assert published["slug"] == draft
    # Each author reaches their own article at that slug; everyone else the published one.
    assert user_api.get(f"/api/articles/{draft}").json()["article"]["status"] == "draft"
    assert other_api.get(f"/api/articles/{draft}").json()["article"]["status"] == "published"
    assert http_client().get(f"/api/articles/{draft}").json()["article"]["status"] == "published"
    # The draft keeps its slug; published, it takes a free one.
    republished = update(user_api, draft, status="published").json()["article"]
    assert republished["slug"].startswith(f"{draft}-")
    assert http_client().get(f"/api/articles/{republished['slug']}").status_code == 200


def test_an_author_titles_two_articles_alike_and_gets_two_slugs(user_api, draft):
    second = create(user_api).json()["article"]

    assert second["slug"] != draft
    assert second["slug"].startswith(f"{draft}-")


# --- The reader's own articles ----------------------------------------------------------------


@pytest.fixture
def own(user, other_user):
    """Three of the reader's articles, updated at different times, one a draft; and one of
    someone else's."""
    now = timezone.now()
    made = {}
    for name, status, hours_ago in [
        ("old", ArticleStatus.PUBLISHED, 3),
        ("draft", ArticleStatus.DRAFT, 2),
        ("new", ArticleStatus.PUBLISHED, 1),
    ]:
        when = now - timedelta(hours=hours_ago)
        made[name] = recipes.article.make(
            author=user, slug=name, status=status, created_at=when, updated_at=when
        )
    recipes.article.make(author=other_user, slug="theirs")
    return made


@pytest.mark.parametrize(
    ("query", "slugs"),
    [
        ("", ["new", "draft", "old"]),
        ("?status=all", ["new", "draft", "old"]),
        ("?status=draft", ["draft"]),
        ("?status=published", ["new", "old"]),
        ("?status=all&limit=1&offset=1", ["draft"]),
    ],
)
def test_the_reader_lists_their_own_articles(user_api, own, query, slugs):
    body = user_api.get(f"/api/user/articles{query}").json()

    assert [a["slug"] for a in body["articles"]] == slugs
    assert body["articlesCount"] == len(own) - ("=draft" in query) * 2 - ("=published" in query)
    assert all("body" not in a for a in body["articles"])


def test_the_own_list_is_most_recently_updated_first(user_api, own):
    update(user_api, "old", description="edited")

    slugs = [a["slug"] for a in user_api.get("/api/user/articles").json()["articles"]]

    assert slugs == ["old", "new", "draft"]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("?status=archived", {"status": ['"archived" is not a valid choice.']}),
        ("?status=", {"status": ['"" is not a valid choice.']}),
        ("?status=draft&status=published", {"status": ["Give this parameter once."]}),
        ("?limit=0", {"limit": ["Ensure this value is greater than or equal to 1."]}),
    ],
)
def test_the_own_list_refuses_bad_parameters(user_api, own, query, errors):
    response = user_api.get(f"/api/user/articles{query}")

    assert response.status_code == 422
    assert response.json() == {"errors": errors}


def test_the_own_list_needs_a_signed_in_reader(api):
    response = api.get("/api/user/articles")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


# --- A draft never shows to anyone else: a property over random histories ---------------------

AUTHORS = 3
TAGS = ["red", "green", "blue"]

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("create"),
            st.integers(0, AUTHORS - 1),
            st.booleans(),
            st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
        ),
        st.tuples(st.sampled_from(["publish", "unpublish", "delete"]), st.integers(0, 20)),
        st.tuples(st.just("favorite"), st.integers(0, AUTHORS - 1), st.integers(0, 20)),
    ),
    max_size=14,
)


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=operations)
def test_a_draft_never_shows_to_anyone_else(settings, history):
    """Random histories of create (draft or published), publish, unpublish, favorite and delete
    by several authors, run through the API; then every list, filter, count, feed, tag list and
    article, as every reader sees them, against what the history says they may see."""
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS)
    users = list(User.objects.filter(username__startswith="author").order_by("pk"))
    if not users:
        users = [recipes.user.make(username=f"author{n}") for n in range(AUTHORS)]
        Follow.objects.bulk_create(
            [
                Follow(follower=users[0], followee=users[1]),
                Follow(follower=users[1], followee=users[2]),
            ]
        )
    Article.objects.all().delete()
    clients = [client_for(u) for u in users]
    articles: list[dict] = []  # slug, author, published, tags, alive
    favorites: set[tuple[int, str]] = set()

    for op in history:
        if op[0] == "create":
            _, author, published, tags = op
            status = "published" if published else "draft"
            title = f"article {len(articles)}"
            response = create(clients[author], title=title, status=status, tagList=tags)
            assert response.status_code == 201
            slug = response.json()["article"]["slug"]
            articles.append(
                {
                    "slug": slug,
                    "author": author,
                    "published": published,
                    "tags": tags,
                    "alive": True,
                }
            )
            continue
        if not articles:
            continue
        article = articles[op[-1] % len(articles)]
        path = f"/api/articles/{article['slug']}"
        if op[0] in ("publish", "unpublish"):
            status = "published" if op[0] == "publish" else "draft"
            response = update(clients[article["author"]], article["slug"], status=status)
            assert response.status_code == (200 if article["alive"] else 404)
            if article["alive"]:
                article["published"] = op[0] == "publish"
        elif op[0] == "delete":
            response = clients[article["author"]].delete(path)
            assert response.status_code == (204 if article["alive"] else 404)
            article["alive"] = False
            favorites = {f for f in favorites if f[1] != article["slug"]}
        else:
            fan = op[1]
            visible = article["alive"] and (article["published"] or article["author"] == fan)
            response = clients[fan].post(f"{path}/favorite")
            assert response.status_code == (200 if visible else 404)
            if visible:
                favorites.add((fan, article["slug"]))

    public = [a for a in articles if a["alive"] and a["published"]]

    def slugs_of(chosen):
        return sorted(a["slug"] for a in chosen)

    def listed(client, path):
        body = client.get(path).json()
        assert body["articlesCount"] == len(body["articles"]), path
        return sorted(a["slug"] for a in body["articles"])

    tag_counts = {t: sum(t in a["tags"] for a in public) for t in TAGS}
    expected_tags = sorted((t for t in TAGS if tag_counts[t]), key=lambda t: (-tag_counts[t], t))
    for viewer in [None, 0, 1, 2]:
        client = http_client() if viewer is None else clients[viewer]
        assert listed(client, "/api/articles?limit=100") == slugs_of(public)
        for tag in TAGS:
            with_tag = [a for a in public if tag in a["tags"]]
            assert listed(client, f"/api/articles?tag={tag}&limit=100") == slugs_of(with_tag)
        for n, user in enumerate(users):
            by = [a for a in public if a["author"] == n]
            assert listed(client, f"/api/articles?author={user.username}") == slugs_of(by)
            liked = [a for a in public if (n, a["slug"]) in favorites]
            assert listed(client, f"/api/articles?favorited={user.username}") == slugs_of(liked)
        assert client.get("/api/tags").json() == {"tags": expected_tags}
        for article in articles:
            visible = article["alive"] and (article["published"] or article["author"] == viewer)
            answer = client.get(f"/api/articles/{article['slug']}").status_code
            assert answer == (200 if visible else 404), (viewer, article)
        if viewer is not None:
            followed = {1} if viewer == 0 else {2} if viewer == 1 else set()
            feed = [a for a in public if a["author"] in followed]
            assert listed(client, "/api/articles/feed?limit=100") == slugs_of(feed)
            own = [a for a in articles if a["alive"] and a["author"] == viewer]
            assert listed(client, "/api/user/articles?limit=100") == slugs_of(own)
