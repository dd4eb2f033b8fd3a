"""Cursor paging: every list names its next page in `nextCursor` and a `Link` header; a cursor
page is a keyset page, so articles published while a reader scrolls are neither repeated nor
skipped; a malformed, tampered or misplaced cursor is a 422."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from resources import cursors
from resources.models import Article, ArticleStatus, ArticleTag, Favorite, Follow, Tag
from tests import recipes
from tests.clients import client_for
from tests.recipes import make_article

pytestmark = pytest.mark.django_db


def next_link(response):
    """The URL of the `Link: <...>; rel="next"` header, if there is one."""
    link = response.headers.get("Link")
    if link is None:
        return None
    url, rel = link.split("; ")
    assert rel == 'rel="next"'
    return url.removeprefix("<").removesuffix(">")


def scroll(client, path, **query) -> list[dict]:
    """Every page of a list, following nextCursor; checks each page's Link against it."""
    pages = []
    response = client.get(path, query)
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        pages.append(body)
        if body["nextCursor"] is None:
            assert next_link(response) is None
            return pages
        link = next_link(response)
        assert parse_qs(urlsplit(link).query)["cursor"] == [body["nextCursor"]]
        response = client.get(link)


def slugs(pages) -> list[str]:
    return [article["slug"] for page in pages for article in page["articles"]]


def test_the_global_list_scrolls_page_by_page(api, user):
    for n in range(25):
        make_article(user, slug=f"a{n:02d}", minutes_ago=n)
    whole = api.get("/api/articles", {"limit": 100}).json()

    first = api.get("/api/articles", {"limit": 10, "tag": ""})
    cursor = first.json()["nextCursor"]
    second = api.get("/api/articles", {"limit": 10, "tag": "", "cursor": cursor})
    third = api.get(next_link(second))

    assert first.json() == {
        "articles": whole["articles"][:10],
        "articlesCount": 25,
        "nextCursor": cursor,
    }
    # Relative to the server; the filters and the limit kept, the offset dropped.
    assert next_link(first) == f"/api/articles?cursor={cursor}&limit=10&tag="
    assert second.json()["articles"] == whole["articles"][10:20]
    assert third.json() == {
        "articles": whole["articles"][20:],
        "articlesCount": 25,
        "nextCursor": None,
    }
    assert "Link" not in third
    assert whole["nextCursor"] is None


def test_an_offset_page_names_the_next_page_by_cursor(api, user):
    for n in range(7):
        make_article(user, slug=f"a{n}", minutes_ago=n)

    offset_page = api.get("/api/articles", {"limit": 2, "offset": 3})
    after = api.get(next_link(offset_page))

    assert [a["slug"] for a in offset_page.json()["articles"]] == ["a3", "a4"]
    assert "offset" not in next_link(offset_page)
    assert [a["slug"] for a in after.json()["articles"]] == ["a5", "a6"]
    assert after.json()["nextCursor"] is None


def test_the_last_page_at_an_offset_has_no_next(api, user):
    for n in range(4):
        make_article(user, minutes_ago=n)

    response = api.get("/api/articles", {"limit": 2, "offset": 2})

    assert response.json()["nextCursor"] is None
    assert "Link" not in response


@pytest.fixture
def world(user, other_user, make_user):
    """Articles by two authors (one followed by `user`), tagged and favorited, some sharing
    their publication time to the microsecond, and a draft of `user`'s."""
    third = make_user()
    Follow.objects.create(follower=user, followee=other_user)
    dragons = Tag.objects.create(name="dragons")
    same_moment = timezone.now() - timedelta(hours=1)
    for n in range(23):
        author = (user, other_user, third)[n % 3]
        when = same_moment if n % 4 == 0 else timezone.now() - timedelta(minutes=n)
        article = recipes.article.make(
            author=author, slug=f"a{n:02d}", created_at=when, updated_at=when
        )
        if n % 2:
            ArticleTag.objects.create(article=article, tag=dragons)
        if n % 3 != 2:
            Favorite.objects.create(user=other_user, article=article)
    make_article(user, slug="my-draft", status=ArticleStatus.DRAFT)
    return user, other_user


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/articles", {}),
        ("/api/articles", {"tag": "dragons"}),
        ("/api/articles", {"author": "AUTHOR"}),
        ("/api/articles", {"favorited": "FAN"}),
        ("/api/articles", {"tag": "dragons", "favorited": "FAN"}),
        ("/api/articles", {"tag": "missing"}),
        ("/api/articles/feed", {}),
        ("/api/user/articles", {}),
        ("/api/user/articles", {"status": "published"}),
        ("/api/user/articles", {"status": "draft"}),
    ],
)
@pytest.mark.parametrize("limit", [1, 3, 20])
def test_every_list_scrolls_to_the_same_articles_as_one_big_page(world, path, query, limit):
    user, other_user = world
    names = {"AUTHOR": other_user.username, "FAN": other_user.username}
    query = {name: names.get(value, value) for name, value in query.items()}
    reader = client_for(user)
    whole = reader.get(path, {**query, "limit": 100}).json()

    pages = scroll(reader, path, **query, limit=limit)

    assert slugs(pages) == [article["slug"] for article in whole["articles"]]
    assert [page["articles"] for page in pages] == [
        whole["articles"][start : start + limit]
        for start in range(0, max(len(whole["articles"]), 1), limit)
    ]
    assert {page["articlesCount"] for page in pages} == {whole["articlesCount"]}


def test_the_own_list_pages_by_update_time(world):
    user, _ = world
    reader = client_for(user)
    oldest = Article.objects.filter(author=user).order_by("updated_at", "id")[0]
    reader.put(f"/api/articles/{oldest.slug}", {"article": {"body": "Edited."}}, format="json")

    pages = scroll(reader, "/api/user/articles", limit=2)

    assert slugs(pages)[0] == oldest.slug
    assert len(slugs(pages)) == len(set(slugs(pages))) == user.articles.count()


def test_a_search_pages_by_offset_only(api, user):
    for n in range(5):
        make_article(user, title=f"Dragon {n}", slug=f"dragon-{n}", minutes_ago=n)

    first = api.get("/api/articles", {"search": "dragon", "limit": 2})
    refused = api.get("/api/articles", {"search": "dragon", "cursor": "x"})
    last = api.get("/api/articles", {"search": "dragon", "limit": 2, "offset": 4})

    assert first.json()["nextCursor"] is None
    assert next_link(first) == "/api/articles?limit=2&offset=2&search=dragon"
    second = api.get(next_link(first)).json()
    assert len(second["articles"]) == 2
    assert "Link" not in last
    # A cursor that would verify is refused all the same.
    position = cursors.Position("published", timezone.now(), 1)
    with_cursor = api.get("/api/articles", {"search": "dragon", "cursor": cursors.encode(position)})
    for response in (refused, with_cursor):
        assert response.status_code == 422
    assert with_cursor.json() == {
        "errors": {"cursor": ["A search is ordered by relevance and pages by offset only."]}
    }


def a_cursor() -> str:
    return cursors.encode(cursors.Position("published", timezone.now(), 42))


def tampered(cursor: str) -> str:
    """The payload of a cursor with one character changed, its signature kept."""
    value, signature = cursor.rsplit(".", 1)
    changed = value[:-1] + ("A" if value[-1] != "A" else "B")
    return f"{changed}.{signature}"


def forged() -> str:
    signer = signing.Signer(key="not-the-secret-key", salt="conduit.cursors", sep=".")
    return signer.sign_object(["p", 0, 1])


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"cursor": "garbage"}, {"cursor": ["Not a cursor of this API."]}),
        ({"cursor": ""}, {"cursor": ["This field may not be blank."]}),
        ({"cursor": "x" * 201}, {"cursor": ["Ensure this field has no more than 200 characters."]}),
        ({"cursor": tampered(a_cursor())}, {"cursor": ["Not a cursor of this API."]}),
        ({"cursor": forged()}, {"cursor": ["Not a cursor of this API."]}),
        ({"cursor": a_cursor(), "offset": "20"}, {"cursor": ["Give cursor or offset, not both."]}),
    ],
)
def test_a_bad_cursor_is_refused(api, user_api, query, errors):
    for client, path in [(api, "/api/articles"), (user_api, "/api/articles/feed")]:
        response = client.get(path, query)
        assert response.status_code == 422, path
        assert response.json() == {"errors": errors}


def test_an_offset_of_0_goes_with_a_cursor(api, user):
    # Clients generated from the schema send offset's default, 0, with every request.
    for n in range(3):
        make_article(user, slug=f"a{n}", minutes_ago=n)
    cursor = api.get("/api/articles", {"limit": 1}).json()["nextCursor"]

    plain = api.get("/api/articles", {"limit": 1, "cursor": cursor})
    with_zero = api.get("/api/articles", {"limit": 1, "cursor": cursor, "offset": 0})

    assert with_zero.status_code == 200
    assert with_zero.json() == plain.json()
    assert [a["slug"] for a in plain.json()["articles"]] == ["a1"]


def test_a_cursor_of_one_kind_of_list_is_refused_by_the_other(user_api):
    updated = cursors.encode(cursors.Position("updated", timezone.now(), 1))

    for path, cursor in [("/api/user/articles", a_cursor()), ("/api/articles", updated)]:
        response = user_api.get(path, {"cursor": cursor})
        assert response.status_code == 422
        assert response.json() == {"errors": {"cursor": ["This cursor belongs to another list."]}}


def test_a_cursor_is_given_once(api):
    response = api.get(f"/api/articles?cursor={a_cursor()}&cursor={a_cursor()}")

    assert response.status_code == 422
    assert response.json() == {"errors": {"cursor": ["Give this parameter once."]}}


def test_a_cursor_past_the_end_is_an_empty_last_page(api, user):
    make_article(user, slug="only")
    oldest = cursors.Position("published", timezone.now() - timedelta(days=3650), 1)

    response = api.get("/api/articles", {"cursor": cursors.encode(oldest)})

    assert response.json() == {"articles": [], "articlesCount": 1, "nextCursor": None}
    assert "Link" not in response


# --- Articles published while a reader scrolls ------------------------------------------------


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    existing=st.integers(0, 14),
    limit=st.integers(1, 5),
    ties=st.integers(0, 6),
    published_between=st.lists(st.integers(0, 3), min_size=8, max_size=8),
    unpublished_between=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_articles_published_while_scrolling_are_neither_repeated_nor_skipped(
    existing, limit, ties, published_between, unpublished_between
):
    """A reader scrolls the global list while others publish new articles (and take their own
    newest back to draft) between the reader's pages: the reader sees every article that was
    there when they started and stayed published, each once, in order."""
    Article.objects.all().delete()
    author = recipes.user.make()
    now = timezone.now() - timedelta(days=1)
    # `ties` articles share one moment, to the microsecond.
    for n in range(existing):
        when = now if n < ties else now - timedelta(minutes=n)
        recipes.article.make(author=author, slug=f"old-{n}", created_at=when, updated_at=when)
    others = recipes.user.make()
    api = client_for(author)
    expected = [a["slug"] for a in api.get("/api/articles", {"limit": 100}).json()["articles"]]

    seen: list[str] = []
    response = api.get("/api/articles", {"limit": limit})
    for between in range(len(published_between) * 10):
        body = response.json()
        seen += [article["slug"] for article in body["articles"]]
        if body["nextCursor"] is None:
            break
        step = between % len(published_between)
        for m in range(published_between[step]):
            recipes.article.make(author=others, slug=f"new-{between}-{m}")
        if unpublished_between[step]:
            newest = Article.objects.filter(author=others, status=ArticleStatus.PUBLISHED).first()
            if newest is not None:
                newest.status = ArticleStatus.DRAFT
                newest.save()
        response = api.get("/api/articles", {"limit": limit, "cursor": body["nextCursor"]})

    assert seen == expected
