"""The Atom and RSS feeds: valid Atom 1.0 and RSS 2.0 of the newest 50 published articles,
site-wide, per tag and per author, links from PUBLIC_BASE_URL, conditional GET, drafts never."""

from __future__ import annotations

import re
from datetime import timedelta

import feedparser
import pytest
from django.utils import timezone
from lxml import etree

from resources.models import Article
from resources.querysets import FEED_ENTRIES
from tests.recipes import make_article

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://conduit.example"


@pytest.fixture
def world(public_site, user, other_user):
    """Two authors' published articles (newest last written), and a draft of jake's."""
    user.image = "https://images.example/jake.png"
    user.save()
    old = make_article(
        other_user,
        title="Old dragons",
        description="Where dragons <em>were</em> & went",
        body="Dragons *used* to be here.",
        tags=["dragons"],
        minutes_ago=30,
    )
    new = make_article(
        user,
        title="New dragons <b>bold</b>",
        description="The newest",
        body="# Heading\n\nSome **text** with <script>alert(1)</script> and [a link](https://a.example/).",
        tags=["dragons", "training"],
        minutes_ago=10,
    )
    draft = make_article(
        user,
        title="Secret draft",
        description="Not yet",
        body="Unpublished words",
        tags=["secret-tag"],
        status="draft",
        minutes_ago=1,
    )
    return {"old": old, "new": new, "draft": draft}


def parsed(response) -> feedparser.FeedParserDict:
    feed = feedparser.parse(response.content, sanitize_html=False)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def test_the_site_wide_atom_feed_is_valid_atom_with_every_entry_field(api, world):
    response = api.get("/feeds/articles.atom")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = parsed(response)
    assert feed.version == "atom10"
    assert feed.feed.title == "Conduit: newest articles"
    assert feed.feed.link == f"{BASE}/articles"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [
        f"{BASE}/feeds/articles.atom"
    ]
    new, old = world["new"], world["old"]
    assert [entry.title for entry in feed.entries] == [new.title, old.title]
    entry = feed.entries[0]
    assert entry.link == f"{BASE}/articles/{new.slug}"
    assert entry.id == f"{BASE}/articles/{new.slug}"
    assert entry.author == "jake"
    assert entry.author_detail.href == f"{BASE}/profiles/jake"
    assert entry.published == new.published_at.isoformat()
    assert entry.updated == new.updated_at.isoformat()
    assert entry.summary == "The newest"
    # feedparser trims the whitespace around it; the element itself holds it exactly (below).
    assert [c.value for c in entry.content] == [new.body_html.strip()]
    assert "<script" not in entry.content[0].value
    assert [tag.term for tag in entry.tags] == ["dragons", "training"]
    # Markup typed into a description is text, in the summary as anywhere.
    assert feed.entries[1].summary == "Where dragons &lt;em&gt;were&lt;/em&gt; &amp; went"


def test_the_atom_feed_has_the_elements_atom_requires(api, world):
    root = etree.fromstring(api.get("/feeds/articles.atom").content)

    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1, name
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        for name in ("id", "title", "updated", "published", "summary", "content"):
            assert len(entry.findall(f"{ATOM}{name}")) == 1, name
        assert entry.find(f"{ATOM}author/{ATOM}name") is not None
        assert entry.find(f"{ATOM}summary").get("type") == "html"
        assert entry.find(f"{ATOM}content").get("type") == "html"
        assert entry.find(f"{ATOM}link").get("rel") == "alternate"
    assert entries[0].find(f"{ATOM}content").text == world["new"].body_html


def test_the_rss_feed_is_valid_rss_2(api, world):
    response = api.get("/feeds/articles.rss")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
    feed = parsed(response)
    assert feed.version == "rss20"
    new = world["new"]
    entry = feed.entries[0]
    assert (entry.title, entry.link, entry.author) == (
        new.title,
        f"{BASE}/articles/{new.slug}",
        "jake",
    )
    assert entry.summary == "The newest"
    assert entry.content[0].value == new.body_html.strip()
    assert entry.published_parsed[:6] == new.published_at.utctimetuple()[:6]
    root = etree.fromstring(response.content)
    content = "{http://purl.org/rss/1.0/modules/content/}encoded"
    assert root.find(f"channel/item/{content}").text == new.body_html
    channel = root.find("channel")
    for name in ("title", "link", "description"):
        assert channel.find(name) is not None, name
    for item in channel.findall("item"):
        for name in ("title", "link", "description", "guid", "pubDate"):
            assert item.find(name) is not None, name


def test_a_tag_feed_has_the_tags_articles_only(api, world):
    feed = parsed(api.get("/feeds/tags/training.atom"))

    assert feed.feed.title == "Conduit: articles tagged training"
    assert feed.feed.link == f"{BASE}/tags/training"
    assert [entry.title for entry in feed.entries] == [world["new"].title]
    assert len(parsed(api.get("/feeds/tags/dragons.atom")).entries) == 2


def test_an_author_feed_has_the_authors_articles_only_whatever_the_case_of_the_name(api, world):
    feed = parsed(api.get("/feeds/authors/JANE.atom"))

    assert feed.feed.title == "Conduit: articles by jane"
    assert feed.feed.link == f"{BASE}/profiles/jane"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [
        f"{BASE}/feeds/authors/jane.atom"
    ]
    assert [entry.title for entry in feed.entries] == [world["old"].title]


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/tags/nothing.atom",
        "/feeds/authors/nobody.atom",
        # A tag only a draft carries is no tag at all for everyone else.
        "/feeds/tags/secret-tag.atom",
    ],
)
def test_an_unknown_tag_or_author_is_a_404(api, world, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response.json() == {"errors": {"body": ["Not found."]}}


@pytest.mark.parametrize(
    "path", ["/feeds/articles.atom", "/feeds/articles.rss", "/feeds/authors/jake.atom"]
)
def test_drafts_never_appear_in_a_feed(api, world, path):
    body = api.get(path).content.decode()

    assert "Secret draft" not in body
    assert world["draft"].slug not in body
    assert "Unpublished" not in body


def test_an_unpublished_article_leaves_the_feeds(api, user_api, world):
    new = world["new"]
    user_api.put(f"/api/articles/{new.slug}", {"article": {"status": "draft"}}, format="json")

    titles = [e.title for e in parsed(api.get("/feeds/articles.atom")).entries]

    assert titles == [world["old"].title]


def test_a_feed_holds_the_newest_50(api, public_site, user):
    for n in range(FEED_ENTRIES + 2):
        make_article(user, title=f"Article {n}", minutes_ago=100 - n)

    feed = parsed(api.get("/feeds/articles.atom"))

    assert [e.title for e in feed.entries] == [f"Article {n}" for n in range(51, 1, -1)]


@pytest.mark.parametrize("path", ["/feeds/articles.atom", "/feeds/articles.rss"])
def test_a_feed_answers_304_to_a_reader_who_has_it(api, world, path):
    first = api.get(path)
    etag, last_modified = first["ETag"], first["Last-Modified"]
    newest = max(world["new"].updated_at, world["old"].updated_at)

    assert last_modified == newest.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    same = api.get(path, HTTP_IF_NONE_MATCH=etag)
    assert (same.status_code, same.content) == (304, b"")
    assert (same["ETag"], same["Last-Modified"]) == (etag, last_modified)
    since = api.get(path, HTTP_IF_MODIFIED_SINCE=last_modified)
    assert since.status_code == 304
    other = api.get(path, HTTP_IF_NONE_MATCH='"something-else"')
    assert (other.status_code, other.content) == (200, first.content)


def test_a_changed_feed_has_a_new_etag_and_answers_200(api, user_api, world):
    first = api.get("/feeds/articles.atom")
    slug = world["old"].slug
    Article.objects.filter(slug=slug).update(updated_at=timezone.now() + timedelta(seconds=5))
    user_api.delete(f"/api/articles/{world['new'].slug}")

    again = api.get("/feeds/articles.atom", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]


def test_every_link_comes_from_public_base_url_never_from_the_host_header(api, world, settings):
    settings.ALLOWED_HOSTS = ["testserver", "attacker.example"]

    for path in ["/feeds/articles.atom", "/feeds/articles.rss", "/feeds/tags/dragons.atom"]:
        body = api.get(path, HTTP_HOST="attacker.example").content.decode()
        assert "attacker.example" not in body
        assert f"{BASE}/articles/" in body


def test_without_public_base_url_the_feeds_are_404(api, world, settings):
    settings.PUBLIC_BASE_URL = ""

    assert api.get("/feeds/articles.atom").status_code == 404
    assert api.get("/feeds/authors/jake.atom").status_code == 404


def test_an_empty_feed_is_the_same_bytes_each_time_and_answers_304(api, public_site, user):
    first = api.get("/feeds/authors/jake.atom")

    assert parsed(first).entries == []
    assert first["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    again = api.get("/feeds/authors/jake.atom", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
