"""The sitemaps: /sitemap.xml indexes every page of every section; sections list published
articles (with lastmod) and authors' profiles, paged at the protocol's limit, valid against the
protocol's XML schemas (tests/schemas/, sitemaps.org 0.9), with no draft in them."""

from __future__ import annotations

from datetime import UTC

import pytest
from lxml import etree

from resources.models import Article
from resources.sitemaps import ArticlesSitemap, ProfilesSitemap, PublicSitemap
from tests.recipes import make_article
from tests.tools import ROOT

pytestmark = pytest.mark.django_db

BASE = "https://conduit.example"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
SCHEMAS = ROOT / "tests" / "schemas"
SITEMAP_SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMAS / "sitemap.xsd")))
INDEX_SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMAS / "siteindex.xsd")))


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def valid(response, schema: etree.XMLSchema) -> etree._Element:
    assert response.status_code == 200, body(response)
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    document = etree.fromstring(body(response))
    assert schema.validate(document), schema.error_log
    return document


def locations(document: etree._Element, element: str = "url") -> list[str]:
    return document.xpath(f"//s:{element}/s:loc/text()", namespaces=NS)


@pytest.fixture
def world(public_site, user, other_user, make_user):
    """jake's and jane's published articles; a draft of jake's; a user with only a draft."""
    drafter = make_user(username="drafter", email="drafter@example.com")
    articles = [
        make_article(other_user, title="First", minutes_ago=30),
        make_article(user, title="Second", minutes_ago=20),
        make_article(user, title="Third", minutes_ago=10),
    ]
    make_article(user, title="Secret draft", status="draft")
    make_article(drafter, title="Only a draft", status="draft")
    return articles


def test_the_index_lists_each_section_and_is_valid(api, world):
    document = valid(api.get("/sitemap.xml"), INDEX_SCHEMA)

    assert locations(document, "sitemap") == [
        f"{BASE}/sitemap-pages.xml",
        f"{BASE}/sitemap-articles.xml",
        f"{BASE}/sitemap-profiles.xml",
    ]


def test_the_articles_section_lists_published_articles_oldest_first_with_lastmod(api, world):
    document = valid(api.get("/sitemap-articles.xml"), SITEMAP_SCHEMA)

    assert locations(document) == [f"{BASE}/articles/{a.slug}" for a in world]
    lastmods = document.xpath("//s:url/s:lastmod/text()", namespaces=NS)
    assert lastmods == [a.updated_at.astimezone(UTC).isoformat(timespec="seconds") for a in world]


def test_the_profiles_section_lists_authors_of_published_articles(api, world):
    document = valid(api.get("/sitemap-profiles.xml"), SITEMAP_SCHEMA)

    assert locations(document) == [f"{BASE}/profiles/jake", f"{BASE}/profiles/jane"]


def test_the_pages_section_lists_the_newest_articles_page(api, world):
    document = valid(api.get("/sitemap-pages.xml"), SITEMAP_SCHEMA)

    assert locations(document) == [f"{BASE}/articles"]


def test_drafts_and_their_authors_never_appear(api, world):
    everything = b"".join(
        body(api.get(path))
        for path in ["/sitemap.xml", "/sitemap-articles.xml", "/sitemap-profiles.xml"]
    ).decode()

    assert "secret-draft" not in everything
    assert "only-a-draft" not in everything
    assert "drafter" not in everything


def test_sections_are_paged_at_the_limit_and_every_page_is_indexed(api, world, monkeypatch):
    monkeypatch.setattr(ArticlesSitemap, "limit", 2)
    monkeypatch.setattr(ProfilesSitemap, "limit", 1)

    index = locations(valid(api.get("/sitemap.xml"), INDEX_SCHEMA), "sitemap")
    first = valid(api.get("/sitemap-articles.xml"), SITEMAP_SCHEMA)
    second = valid(api.get("/sitemap-articles.xml?p=2"), SITEMAP_SCHEMA)
    profiles = [
        locations(valid(api.get(f"/sitemap-profiles.xml?p={p}"), SITEMAP_SCHEMA)) for p in (1, 2)
    ]

    assert index == [
        f"{BASE}/sitemap-pages.xml",
        f"{BASE}/sitemap-articles.xml",
        f"{BASE}/sitemap-articles.xml?p=2",
        f"{BASE}/sitemap-profiles.xml",
        f"{BASE}/sitemap-profiles.xml?p=2",
    ]
    assert locations(first) + locations(second) == [f"{BASE}/articles/{a.slug}" for a in world]
    assert profiles == [[f"{BASE}/profiles/jake"], [f"{BASE}/profiles/jane"]]
    assert api.get("/sitemap-articles.xml?p=3").status_code == 404


def test_articles_published_at_the_same_moment_are_each_listed_once(
    api, public_site, user, monkeypatch
):
    made = [make_article(user, title=f"Same {n}") for n in range(5)]
    Article.objects.update(published_at=made[0].published_at)
    monkeypatch.setattr(ArticlesSitemap, "limit", 2)

    pages = [
        locations(valid(api.get(f"/sitemap-articles.xml?p={p}"), SITEMAP_SCHEMA)) for p in (1, 2, 3)
    ]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(url for page in pages for url in page) == sorted(
        f"{BASE}/articles/{a.slug}" for a in made
    )


def test_the_limit_is_the_protocols():
    assert PublicSitemap.limit == 50_000


@pytest.mark.parametrize(
    "path",
    [
        "/sitemap-nothing.xml",
        "/sitemap-articles.xml?p=0",
        "/sitemap-articles.xml?p=x",
        "/sitemap-articles.xml?p=%D9%A1",  # an Arabic-Indic one is a digit, not a page number
        "/sitemap-articles.xml?p=2",
    ],
)
def test_unknown_sections_and_pages_are_404(api, world, path):
    assert api.get(path).status_code == 404


def test_an_empty_site_has_a_valid_index_and_no_empty_section(api, public_site):
    document = valid(api.get("/sitemap.xml"), INDEX_SCHEMA)

    assert locations(document, "sitemap") == [f"{BASE}/sitemap-pages.xml"]
    assert api.get("/sitemap-articles.xml").status_code == 404


def test_every_location_comes_from_public_base_url_never_from_the_host_header(api, world, settings):
    settings.ALLOWED_HOSTS = ["testserver", "attacker.example"]

    for path in ["/sitemap.xml", "/sitemap-articles.xml", "/sitemap-profiles.xml"]:
        assert b"attacker.example" not in body(api.get(path, HTTP_HOST="attacker.example"))


def test_a_base_url_with_a_path_prefixes_every_location(api, world, settings):
    settings.PUBLIC_BASE_URL = "https://example.org/blog"

    index = locations(valid(api.get("/sitemap.xml"), INDEX_SCHEMA), "sitemap")
    articles = locations(valid(api.get("/sitemap-articles.xml"), SITEMAP_SCHEMA))

    assert index[0] == "https://example.org/blog/sitemap-pages.xml"
    assert articles[0] == f"https://example.org/blog/articles/{world[0].slug}"


def test_without_public_base_url_the_sitemaps_are_404(api, world, settings):
    settings.PUBLIC_BASE_URL = ""

    assert api.get("/sitemap.xml").status_code == 404
    assert api.get("/sitemap-articles.xml").status_code == 404
