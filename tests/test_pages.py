"""The HTML pages for readers and link previews: an article's shareable page (its meta tags read
back by an HTML parser), the list pages per tag and author, and the one HTML 404 for drafts and
unknown addresses."""

from __future__ import annotations

import json

import lxml.html
import pytest

from resources.pages import PAGE_CONTENT_SECURITY_POLICY
from tests.clients import client_for
from tests.recipes import make_article

pytestmark = pytest.mark.django_db

BASE = "https://conduit.example"
# Markup and quotes in every field a page shows, in elements and in attributes.
HOSTILE = "\"'><script>alert(1)</script></title></script><b onmouseover=alert(2)>&amp;"


def html(response) -> lxml.html.HtmlElement:
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Content-Security-Policy"] == PAGE_CONTENT_SECURITY_POLICY
    return lxml.html.fromstring(response.content)


def metas(page: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """Every <meta>'s content, by its property or name."""
    found: dict[str, list[str]] = {}
    for meta in page.xpath("//head/meta[@content]"):
        key = meta.get("property") or meta.get("name")
        found.setdefault(key, []).append(meta.get("content"))
    return found


def json_ld(page: lxml.html.HtmlElement) -> dict:
    [script] = page.xpath('//script[@type="application/ld+json"]')
    return json.loads(script.text)


@pytest.fixture
def article(public_site, user):
    user.image = "https://images.example/jake.png"
    user.save()
    body = " ".join(["word"] * 600) + "\n\n## Part two\n\nWith [a link](https://a.example/)."
    return make_article(
        user,
        title="How to train your dragon",
        description="Ever wonder how?",
        body=body,
        tags=["dragons", "training"],
        minutes_ago=5,
    )


def test_the_article_page_shows_the_article(api, article):
    response = api.get(f"/articles/{article.slug}")

    assert response.status_code == 200
    page = html(response)
    assert page.findtext(".//title") == "How to train your dragon | Conduit"
    [heading] = page.xpath("//article//h1")
    assert heading.text_content() == "How to train your dragon"
    assert page.xpath('//a[@rel="author"]/@href') == [f"{BASE}/profiles/jake"]
    assert page.xpath('//a[@rel="author"]/text()') == ["jake"]
    assert page.xpath("//article//time/@datetime") == [article.published_at.isoformat()]
    assert page.xpath("//article//time/text()") == [article.published_at.strftime("%B %-d, %Y")]
    assert "3 min read" in page.xpath('//span[@class="meta"]')[0].text_content()
    assert article.body_html in response.content.decode()
    assert page.xpath('//ul[@class="tags"]//a/@href') == [
        f"{BASE}/tags/dragons",
        f"{BASE}/tags/training",
    ]
    # No JavaScript: the one script element is data.
    assert page.xpath("//script/@type") == ["application/ld+json"]


def test_the_article_pages_meta_tags_carry_the_preview(api, article):
    page = html(api.get(f"/articles/{article.slug}"))
    canonical = f"{BASE}/articles/{article.slug}"

    assert page.xpath('//link[@rel="canonical"]/@href') == [canonical]
    assert page.xpath('//link[@rel="alternate"]/@href') == [f"{BASE}/feeds/authors/jake.atom"]
    assert metas(page) == {
        "viewport": ["width=device-width, initial-scale=1"],
        "description": ["Ever wonder how?"],
        "author": ["jake"],
        "og:type": ["article"],
        "og:site_name": ["Conduit"],
        "og:title": ["How to train your dragon"],
        "og:description": ["Ever wonder how?"],
        "og:url": [canonical],
        "og:image": ["https://images.example/jake.png"],
        "article:author": [f"{BASE}/profiles/jake"],
        "article:published_time": [article.published_at.isoformat()],
        "article:modified_time": [article.updated_at.isoformat()],
        "article:tag": ["dragons", "training"],
        "twitter:card": ["summary"],
        "twitter:title": ["How to train your dragon"],
        "twitter:description": ["Ever wonder how?"],
        "twitter:image": ["https://images.example/jake.png"],
    }


def test_the_article_page_has_json_ld_article_data(api, article):
    page = html(api.get(f"/articles/{article.slug}"))
    canonical = f"{BASE}/articles/{article.slug}"

    assert json_ld(page) == {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": "How to train your dragon",
        "description": "Ever wonder how?",
        "url": canonical,
        "mainEntityOfPage": canonical,
        "datePublished": article.published_at.isoformat(),
        "dateModified": article.updated_at.isoformat(),
        "author": {
            "@type": "Person",
            "name": "jake",
            "url": f"{BASE}/profiles/jake",
            "image": "https://images.example/jake.png",
        },
        "image": "https://images.example/jake.png",
        "keywords": ["dragons", "training"],
        "timeRequired": "PT3M",
    }


def test_without_an_author_image_there_is_no_image_anywhere(api, public_site, other_user):
    made = make_article(other_user, title="Plain")

    page = html(api.get(f"/articles/{made.slug}"))

    assert "og:image" not in metas(page)
    assert "twitter:image" not in metas(page)
    assert "image" not in json_ld(page)
    assert page.xpath("//img") == []


def test_the_frontend_link_follows_frontend_article_url(api, article, settings):
    assert html(api.get(f"/articles/{article.slug}")).xpath('//a[@class="button"]') == []

    settings.FRONTEND_ARTICLE_URL = "https://app.example/#/article/{slug}"
    page = html(api.get(f"/articles/{article.slug}"))

    assert page.xpath('//a[@class="button"]/@href') == [
        f"https://app.example/#/article/{article.slug}"
    ]


def test_every_value_is_escaped_and_reads_back_as_written(api, public_site, make_user):
    author = make_user(
        username="x", email="x@example.com", image='https://i.example/a.png?a=1&b="2'
    )
    made = make_article(
        author,
        title=HOSTILE,
        description=HOSTILE,
        body=HOSTILE,
        tags=[HOSTILE[:64]],
    )

    response = api.get(f"/articles/{made.slug}")
    page = html(response)
    found = metas(page)

    assert page.findtext(".//title") == f"{HOSTILE} | Conduit"
    assert found["og:title"] == found["og:description"] == [HOSTILE]
    assert found["twitter:title"] == found["description"] == [HOSTILE]
    assert found["article:tag"] == [HOSTILE[:64]]
    assert found["og:image"] == ['https://i.example/a.png?a=1&b="2']
    assert json_ld(page)["headline"] == HOSTILE
    assert page.xpath("//article//h1")[0].text_content() == HOSTILE
    assert page.xpath("//script/@type") == ["application/ld+json"]
    assert page.xpath("//*[@onmouseover]") == []
    assert "<script>alert" not in response.content.decode()


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_draft_is_the_same_404_page_as_an_unknown_slug(api, public_site, user, signed_in):
    draft = make_article(user, title="Secret draft", status="draft")
    client = client_for(user) if signed_in else api

    hidden = client.get(f"/articles/{draft.slug}")
    unknown = client.get("/articles/no-such-article")

    assert (hidden.status_code, unknown.status_code) == (404, 404)
    assert hidden.content == unknown.content
    page = html(hidden)
    assert page.findtext(".//title") == "Not found | Conduit"
    assert metas(page) == {
        "viewport": ["width=device-width, initial-scale=1"],
        "robots": ["noindex"],
    }
    assert b"Secret" not in hidden.content


@pytest.mark.parametrize(
    "path", ["/articles/a.b", "/articles/%E2%9C%93", "/tags/nothing", "/profiles/nobody"]
)
def test_unknown_pages_are_the_html_404(api, public_site, path):
    response = api.get(path)

    assert response.status_code == 404
    assert html(response).findtext(".//title") == "Not found | Conduit"


def test_without_public_base_url_the_pages_are_the_html_404(api, article, settings):
    settings.PUBLIC_BASE_URL = ""

    response = api.get(f"/articles/{article.slug}")

    assert response.status_code == 404
    assert html(response).xpath("//header//a/@href") == ["/articles"]


def test_every_link_comes_from_public_base_url_never_from_the_host_header(api, article, settings):
    settings.ALLOWED_HOSTS = ["testserver", "attacker.example"]

    for path in [f"/articles/{article.slug}", "/articles", "/tags/dragons", "/profiles/jake"]:
        response = api.get(path, HTTP_HOST="attacker.example")
        assert response.status_code == 200
        assert b"attacker.example" not in response.content


def test_a_base_url_with_a_path_prefixes_every_link(api, article, settings):
    settings.PUBLIC_BASE_URL = "https://example.org/blog"

    page = html(api.get(f"/articles/{article.slug}"))

    assert page.xpath('//link[@rel="canonical"]/@href') == [
        f"https://example.org/blog/articles/{article.slug}"
    ]


def test_only_get_and_head_are_answered(api, article):
    assert api.head(f"/articles/{article.slug}").status_code == 200
    for path in [f"/articles/{article.slug}", "/feeds/articles.atom", "/sitemap.xml"]:
        response = api.post(path)
        assert (response.status_code, response["Allow"]) == (405, "GET, HEAD"), path


def test_the_list_pages_show_published_articles_newest_first(api, article, other_user):
    older = make_article(other_user, title="Older", tags=["dragons"], minutes_ago=60)
    make_article(other_user, title="Draft", tags=["dragons"], status="draft")

    listed = {
        path: html(api.get(path)).xpath('//ul[@class="list"]//h2/text()')
        for path in ["/articles", "/tags/dragons", "/profiles/jane", "/tags/training"]
    }

    assert listed == {
        "/articles": [article.title, older.title],
        "/tags/dragons": [article.title, older.title],
        "/profiles/jane": [older.title],
        "/tags/training": [article.title],
    }


def test_a_profile_page_shows_the_profile_and_its_feed(api, article):
    page = html(api.get("/profiles/JAKE"))

    assert page.xpath("//h1/text()") == ["jake"]
    assert page.xpath('//p[@class="description"]/text()') == ["I work at statefarm"]
    assert page.xpath('//link[@rel="canonical"]/@href') == [f"{BASE}/profiles/jake"]
    assert page.xpath('//link[@rel="alternate"]/@href') == [f"{BASE}/feeds/authors/jake.atom"]
    assert metas(page)["og:type"] == ["profile"]
    assert metas(page)["profile:username"] == ["jake"]
    assert metas(page)["og:image"] == ["https://images.example/jake.png"]
    assert page.xpath('//ul[@class="list"]//a/@href') == [f"{BASE}/articles/{article.slug}"]


def test_a_tag_only_drafts_carry_has_no_page(api, public_site, user):
    make_article(user, title="Draft", tags=["secret-tag"], status="draft")

    assert api.get("/tags/secret-tag").status_code == 404
