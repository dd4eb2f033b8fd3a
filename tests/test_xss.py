"""The XSS corpus (tests/xss_corpus.yaml) as article bodies: every one, rendered, is inert in
chromium; and the browser harness, given the same payloads unsanitized, does catch them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from resources.markdown import markdown_render
from tests.browser import describe, documents_inert_in_browser, inert_in_browser
from tests.clients import client_for
from tests.tools import ROOT

CORPUS = yaml.safe_load((ROOT / "tests" / "xss_corpus.yaml").read_text())


def _indented(payload: str, first: str, rest: str) -> str:
    lines = payload.split("\n")
    return "\n".join([first + lines[0], *(rest + line for line in lines[1:])])


# Where a payload of markup goes in a Markdown body.
MARKUP_PLACES: list[Callable[[str], str]] = [
    lambda p: p,  # the whole body: raw HTML
    lambda p: f"Some text {p} and more text.",  # inline HTML in a paragraph
    lambda p: f"<div>\n{p}\n</div>",  # inside an HTML block
    lambda p: _indented(p, "- ", "  "),  # a list item
    lambda p: _indented(p, "> ", "> "),  # a blockquote
    lambda p: f"| a | b |\n| --- | --- |\n| {p} | cell |",  # a table cell
    lambda p: f"# {p}",  # a heading
    lambda p: f"[{p}](https://example.com/)",  # link text
    lambda p: f"![{p}](https://images.example/a.png)",  # image text
    lambda p: f"**{p}**",  # emphasis
    lambda p: f"`{p}`",  # a code span
    lambda p: f"```\n{p}\n```",  # fenced code
]


def attribute_value(url: str) -> str:
    # Only the quote is escaped: character references in a payload are the attack itself, for
    # the browser to decode.
    return url.replace('"', "&quot;")


def _in_srcdoc(url: str) -> str:
    # A link inside the HTML of an iframe's srcdoc attribute: decoded once as the attribute,
    # then again as the href in the frame's document.
    link = f'<a href="{attribute_value(url)}">click</a>'
    return link.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


# Where a payload that is an address goes: Markdown's own links, then raw HTML that takes one.
ADDRESS_PLACES: list[Callable[[str], str]] = [
    lambda u: f"[click]({u})",
    lambda u: f"[click](<{u}>)",
    lambda u: f'[click]({u} "title")',
    lambda u: f"![image]({u})",
    lambda u: f"<{u}>",  # autolink
    lambda u: f"See {u} here.",  # bare, for linkify
    lambda u: f"[click][ref]\n\n[ref]: {u}",  # reference link
    lambda u: f"![image][ref]\n\n[ref]: <{u}>",  # reference image
    lambda u: f'<a href="{attribute_value(u)}">click</a>',
    lambda u: f'<img src="{attribute_value(u)}">',
    lambda u: f'<iframe src="{attribute_value(u)}"></iframe>',
    lambda u: f'<form action="{attribute_value(u)}"><button>send</button></form>',
    lambda u: (
        f'<button formaction="{attribute_value(u)}" form="f">send</button><form id="f"></form>'
    ),
    lambda u: f'<base href="{attribute_value(u)}"><a href="page">relative</a>',
    lambda u: f'<meta http-equiv="refresh" content="0;url={attribute_value(u)}">',
    lambda u: f'<object data="{attribute_value(u)}"></object>',
    lambda u: f'<embed src="{attribute_value(u)}">',
    lambda u: f'<iframe srcdoc="{_in_srcdoc(u)}"></iframe>',
    lambda u: f'<svg><a xlink:href="{attribute_value(u)}"><text y="20">click</text></a></svg>',
    lambda u: f'<math href="{attribute_value(u)}">click</math>',
]

BODIES = [place(e["payload"]) for e in CORPUS["html"] for place in MARKUP_PLACES] + [
    place(e["payload"]) for e in CORPUS["urls"] for place in ADDRESS_PLACES
]


def assert_inert(bodies: list[str], rendered: list[str]) -> None:
    """Each body's rendered HTML, loaded in chromium, does nothing. `rendered` may come from
    markdown_render or from the API (an article's or a comment's bodyHtml), in the same order."""
    unique = list(dict.fromkeys(rendered))
    outcomes = dict(zip(unique, inert_in_browser(unique), strict=True))
    failures = [
        f"{body!r} -> {describe(outcomes[html])}"
        for body, html in zip(bodies, rendered, strict=True)
        if not outcomes[html].inert
    ]
    assert not failures, "\n".join(failures)


def test_the_corpus_is_large_and_sourced():
    payloads = CORPUS["html"] + CORPUS["urls"]
    assert len(payloads) >= 100
    assert all(e["source"].startswith(("OWASP", "HTML5 Security")) for e in payloads)
    assert len(BODIES) == len(CORPUS["html"]) * len(MARKUP_PLACES) + len(CORPUS["urls"]) * len(
        ADDRESS_PLACES
    )


@pytest.mark.django_db
def test_every_corpus_body_posted_through_the_api_is_inert_in_chromium(settings, user):
    """Each body is posted as an article and as a comment; the bodyHtml the API answers (and
    reads back) is what chromium loads."""
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS)
    author = client_for(user)
    host = author.post(
        "/api/articles",
        {"article": {"title": "Comments", "description": "d", "body": "b"}},
        format="json",
    ).json()["article"]["slug"]
    # The API refuses NUL characters outright; every other body is stored and rendered.
    accepted = [body for body in BODIES if "\x00" not in body]
    articles, comments = [], []
    for n, body in enumerate(BODIES):
        article = {"title": f"Payload {n}", "description": "d", "body": body}
        created = author.post("/api/articles", {"article": article}, format="json")
        comment = author.post(
            f"/api/articles/{host}/comments", {"comment": {"body": body}}, format="json"
        )
        if body not in accepted:
            assert (created.status_code, comment.status_code) == (422, 422)
            continue
        assert created.status_code == 201, created.json()
        slug = created.json()["article"]["slug"]
        articles.append(author.get(f"/api/articles/{slug}").json()["article"]["bodyHtml"])
        assert comment.status_code == 200, comment.json()
        comments.append(comment.json()["comment"]["bodyHtml"])
    stored = author.get(f"/api/articles/{host}/comments").json()["comments"]
    assert [c["bodyHtml"] for c in stored] == comments

    assert_inert(accepted + accepted, articles + comments)


# Payloads chromium does run when nothing sanitizes them, one for each way in, and what the
# harness sees of each.
UNSANITIZED = {
    "OWASP XSS Filter Evasion Cheat Sheet: Malformed A Tags": "call",  # a handler, on hover
    "OWASP XSS Filter Evasion Cheat Sheet: On Error Alert": "call",  # onerror
    "OWASP XSS Filter Evasion Cheat Sheet: SVG Object Tag": "call",  # SVG onload
    "OWASP XSS Filter Evasion Cheat Sheet: Extraneous Open Brackets": "script",  # <script>
    "OWASP XSS Filter Evasion Cheat Sheet: IFRAME": "dialog",  # javascript: in a frame
    "OWASP XSS Filter Evasion Cheat Sheet: Remote style sheet": "request",  # <link>
    "OWASP XSS Filter Evasion Cheat Sheet: WAF ByPass Strings for XSS (21)": "script",  # &#97;
    "HTML5 Security Cheatsheet #1": "script",  # a button's formaction, clicked
    "HTML5 Security Cheatsheet #7": "call",  # autofocus
    "HTML5 Security Cheatsheet #50": "frame",  # <object data="data:text/html...">
    "HTML5 Security Cheatsheet #87": "script",  # an SVG link, clicked
    "HTML5 Security Cheatsheet #139": "navigation",  # <iframe srcdoc>
}


def markup_payload(source: str) -> str:
    [payload] = [e["payload"] for e in CORPUS["html"] if e["source"] == source]
    return payload


def test_the_harness_catches_payloads_left_unsanitized():
    raw = [markup_payload(source) for source in UNSANITIZED]

    outcomes = inert_in_browser(raw, batch_size=1)

    seen = {
        source: sorted({event.kind for event in outcome.findings})
        for source, outcome in zip(UNSANITIZED, outcomes, strict=True)
    }
    missed = {source: kinds for source, kinds in seen.items() if UNSANITIZED[source] not in kinds}
    assert not missed, seen


def test_plain_markup_is_inert_and_what_it_declares_is_seen():
    html = markdown_render(
        "# Dragons\n\nSee [the guide](https://guide.example/dragons), ![a dragon]"
        "(https://images.example/dragon.png) and www.example.org, or write to <jake@jake.jake>."
    )

    [outcome] = inert_in_browser([html])

    assert outcome.inert, describe(outcome)
    assert {(event.kind, event.detail) for event in outcome.events} == {
        ("navigation", "link followed to https://guide.example/dragons"),
        ("navigation", "link followed to http://www.example.org/"),
        ("navigation", "link followed to mailto:jake@jake.jake"),
        ("request", "image https://images.example/dragon.png"),
    }


def test_one_unsafe_fragment_among_safe_ones_fails_the_check_and_is_named():
    bodies = [
        "Safe *text*.",
        "More [safe](https://example.com/) text.",
        "<img src=x onerror=xss()>",
    ]
    rendered = [markdown_render(body) for body in bodies[:2]] + [bodies[2]]

    with pytest.raises(AssertionError) as failure:
        assert_inert(bodies, rendered)

    assert "'<img src=x onerror=xss()>' -> " in str(failure.value)
    assert "safe" not in str(failure.value).lower()


# Where the article page (resources/pages.py) puts things; each must still be there, once, after
# the harness touched everything.
ARTICLE_PAGE_LANDMARKS = [
    "body > header.site",
    "body > main",
    "body > footer",
    "main > article",
    "article > .banner h1",
    "article > .content",
    "article > .actions",
]


def page_groups(payloads: list[str], limit: int = 255, size: int = 10) -> list[list[str]]:
    """The payloads in groups whose titles (the payloads joined by spaces) fit in an article's
    title, at most `size` (the tags an article may have) each; a longer payload is alone."""
    groups: list[list[str]] = []
    for payload in payloads:
        group = groups[-1] if groups else []
        if groups and len(group) < size and len(" ".join([*group, payload])) <= limit:
            group.append(payload)
        else:
            groups.append([payload])
    return groups


@pytest.mark.django_db
def test_every_corpus_payload_in_an_article_page_is_inert_in_chromium(
    settings, public_site, make_user
):
    """The payloads are posted, a few to an article, as its title, description, tags and body,
    and as its author's picture where one passes as an image address; each article's page
    (/articles/<slug>) is what chromium loads, whole. (Every place a payload can take in a body
    is the test above; here it is the page's own values that must stay inert.)"""
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS)
    settings.FRONTEND_ARTICLE_URL = "https://app.example/article/{slug}"
    # The API refuses NUL characters outright, in every field.
    markup = [e["payload"] for e in CORPUS["html"] if "\x00" not in e["payload"]]
    addresses = [e["payload"] for e in CORPUS["urls"] if "\x00" not in e["payload"]]
    groups = page_groups(markup) + page_groups(addresses)
    pages = []
    for n, group in enumerate(groups):
        author = client_for(make_user(username=f"author{n}", email=f"author{n}@example.com"))
        for payload in group:
            # Refused unless it is an http(s) address; the first one kept is the picture.
            answer = author.put("/api/user", {"user": {"image": payload}}, format="json")
            if answer.status_code == 200:
                break
        places = (
            MARKUP_PLACES[:2] if group[0] in markup else ADDRESS_PLACES[:1] + ADDRESS_PLACES[8:10]
        )
        article = {
            "title": " ".join(group)[:255],
            "description": " ".join(group)[:1000],
            "body": "\n\n".join(place(payload) for payload in group for place in places),
            "tagList": [payload[:64] for payload in group],
        }
        created = author.post("/api/articles", {"article": article}, format="json")
        assert created.status_code == 201, created.json()
        page = author.get(f"/articles/{created.json()['article']['slug']}")
        assert page.status_code == 200
        pages.append((group, page.content.decode()))

    outcomes = documents_inert_in_browser([page for _, page in pages], ARTICLE_PAGE_LANDMARKS)

    failures = [
        f"{group!r} -> {describe(outcome)}"
        for (group, _), outcome in zip(pages, outcomes, strict=True)
        if not outcome.inert
    ]
    assert not failures, "\n".join(failures)
    assert sum(len(group) for group, _ in pages) == len(markup) + len(addresses)


def test_the_page_harness_catches_a_page_that_runs_script_or_loses_a_landmark():
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
        "<body><main><p>{}</p></main></body></html>"
    )

    caught, broken, clean = documents_inert_in_browser(
        [
            page.format("<img src=x onerror=xss()>"),
            page.format("</p></main><main>"),
            page.format("<b>fine</b>"),
        ],
        ["body > main"],
    )

    assert {e.kind for e in caught.findings} >= {"call"}
    assert [e.detail for e in broken.findings] == ["the markup broke out of its <section>"]
    assert clean.inert, describe(clean)
