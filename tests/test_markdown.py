"""Markdown bodies to HTML: each feature's exact output, the sanitizer's allow-list, links' rel,
and reading time."""

import pytest

from resources.markdown import markdown_render, reading_time_minutes

REL = 'rel="nofollow noopener noreferrer"'


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        pytest.param(
            "| Name | Age | City |\n| :--- | --: | :-: |\n| Jake | 30 | Paris |\n| Jane |",
            "<table>\n<thead>\n<tr>\n"
            '<th align="left">Name</th>\n<th align="right">Age</th>\n<th align="center">City</th>\n'
            "</tr>\n</thead>\n<tbody>\n<tr>\n"
            '<td align="left">Jake</td>\n<td align="right">30</td>\n<td align="center">Paris</td>\n'
            "</tr>\n<tr>\n"
            '<td align="left">Jane</td>\n<td align="right"></td>\n<td align="center"></td>\n'
            "</tr>\n</tbody>\n</table>\n",
            id="table, alignment as the align attribute",
        ),
        pytest.param(
            "| a | b |\n| --- | --- |\n| `x\\|y` | **b** |",
            "<table>\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
            "<td><code>x|y</code></td>\n<td><strong>b</strong></td>\n</tr>\n</tbody>\n</table>\n",
            id="table without alignment",
        ),
        pytest.param("~~gone~~ and ~kept~", "<p><s>gone</s> and ~kept~</p>\n", id="strikethrough"),
        pytest.param(
            "Read https://conduit.example/articles?tag=a&b=1 or www.example.org.",
            '<p>Read <a href="https://conduit.example/articles?tag=a&amp;b=1" '
            f"{REL}>https://conduit.example/articles?tag=a&amp;b=1</a> or "
            f'<a href="http://www.example.org" {REL}>www.example.org</a>.</p>\n',
            id="autolink by linkify",
        ),
        pytest.param(
            "Mail jake@example.com or <https://conduit.example>.",
            f'<p>Mail <a href="mailto:jake@example.com" {REL}>jake@example.com</a> or '
            f'<a href="https://conduit.example" {REL}>https://conduit.example</a>.</p>\n',
            id="email and CommonMark autolinks",
        ),
        pytest.param(
            "```python\nprint('<b>')\n```",
            "<pre><code class=\"language-python\">print('&lt;b&gt;')\n</code></pre>\n",
            id="fenced code with language",
        ),
        pytest.param(
            "~~~c++ extra words\nint x;\n~~~\n\n```\nplain\n```\n\n    indented",
            '<pre><code class="language-c++">int x;\n</code></pre>\n'
            "<pre><code>plain\n</code></pre>\n<pre><code>indented\n</code></pre>\n",
            id="fenced code, first word only; no language; indented code",
        ),
        pytest.param(
            "# One\n## Two\n### Three\n#### Four\n##### Five\n###### Six\nSetext\n---",
            "<h1>One</h1>\n<h2>Two</h2>\n<h3>Three</h3>\n<h4>Four</h4>\n<h5>Five</h5>\n"
            "<h6>Six</h6>\n<h2>Setext</h2>\n",
            id="headings",
        ),
        pytest.param(
            "- a\n- b\n  - nested\n\n3. c\n4. d",
            "<ul>\n<li>a</li>\n<li>b\n<ul>\n<li>nested</li>\n</ul>\n</li>\n</ul>\n"
            '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>\n',
            id="lists",
        ),
        pytest.param(
            "*em* _em_ **strong** __strong__ ***both*** `code` a\\*b",
            "<p><em>em</em> <em>em</em> <strong>strong</strong> <strong>strong</strong> "
            "<em><strong>both</strong></em> <code>code</code> a*b</p>\n",
            id="emphasis and code spans",
        ),
        pytest.param(
            "> quoted\n> > nested",
            "<blockquote>\n<p>quoted</p>\n<blockquote>\n<p>nested</p>\n</blockquote>\n"
            "</blockquote>\n",
            id="blockquote",
        ),
        pytest.param(
            '![A *dragon*](https://images.example/dragon.png "Smaug")',
            '<p><img src="https://images.example/dragon.png" alt="A dragon" title="Smaug"></p>\n',
            id="image",
        ),
        pytest.param(
            '[home](https://conduit.example "Home") [ref][r]\n\n[r]: https://ref.example/x',
            f'<p><a href="https://conduit.example" title="Home" {REL}>home</a> '
            f'<a href="https://ref.example/x" {REL}>ref</a></p>\n',
            id="inline and reference links",
        ),
        pytest.param(
            "line  \nbreak\n\n---\n\n&copy; &lt;b&gt; 5 > 3 & <",
            "<p>line<br>\nbreak</p>\n<hr>\n<p>© &lt;b&gt; 5 &gt; 3 &amp; &lt;</p>\n",
            id="hard break, rule, entities and escaping",
        ),
        pytest.param("", "", id="empty"),
    ],
)
def test_each_feature_renders_as_expected(markdown, html):
    assert markdown_render(markdown) == html


# The allow-list, one row per rule: raw HTML in the body and what survives the sanitizer.
@pytest.mark.parametrize(
    ("raw", "html"),
    [
        pytest.param(
            '<kbd>Ctrl</kbd> H<sub>2</sub>O x<sup>2</sup> <mark>m</mark> <abbr title="T">A</abbr>',
            "<p><kbd>Ctrl</kbd> H<sub>2</sub>O x<sup>2</sup> <mark>m</mark> "
            '<abbr title="T">A</abbr></p>\n',
            id="formatting survives",
        ),
        pytest.param(
            "<details><summary>More</summary>\n\nHidden *text*.\n\n</details>",
            "<details><summary>More</summary>\n<p>Hidden <em>text</em>.</p>\n</details>",
            id="details, with Markdown inside",
        ),
        pytest.param(
            "<script>alert(1)</script><style>p{}</style><noscript>n</noscript><template>t"
            "</template><textarea>t</textarea><title>t</title><xmp>x</xmp><iframe>i</iframe>",
            "",
            id="script, style and raw-text elements go with their content",
        ),
        pytest.param(
            '<form action="https://x.example/"><input name="q"><button>Go</button></form>'
            '<object data="https://x.example/"></object><embed src="https://x.example/">'
            '<video src="https://x.example/v.mp4"></video><svg><circle r="1"/></svg>'
            "<math><mi>x</mi></math>",
            "Go",
            id="forms, embedded content, SVG and MathML: dropped",
        ),
        pytest.param(
            '<base href="https://x.example/"><meta http-equiv="refresh" content="0">'
            '<link rel="stylesheet" href="https://x.example/s.css">',
            "",
            id="base, meta and link: dropped",
        ),
        pytest.param(
            '<span style="color:red" onclick="x()" onmouseover="x()" id="a" name="n" '
            'data-x="1" tabindex="1" title="t">s</span>',
            '<p><span title="t">s</span></p>\n',
            id="no style, event handlers, id, name, data- or tabindex",
        ),
        pytest.param(
            '<img src="https://x.example/a.png" alt="a" width="10" height="20" onerror="x()" '
            'srcset="https://x.example/b.png 2x" loading="lazy" style="a">',
            '<img src="https://x.example/a.png" alt="a" width="10" height="20">',
            id="image attributes",
        ),
        pytest.param(
            '<a href="https://x.example/" target="_blank" rel="opener" ping="https://t.example/" '
            "download>x</a>",
            f'<p><a href="https://x.example/" {REL}>x</a></p>\n',
            id="no target, ping or download; rel replaced",
        ),
        pytest.param(
            '<a href="HTTPS://X.EXAMPLE/">a</a> <a href="mailto:jake@jake.jake">b</a> '
            '<a href="ftp://x.example/">c</a> <a href="tel:1">d</a> <a href="data:text/html,x">e'
            '</a> <a href="JaVaScRiPt:alert(1)">f</a> <a href="vbscript:x">g</a>',
            f'<p><a href="HTTPS://X.EXAMPLE/" {REL}>a</a> <a href="mailto:jake@jake.jake" {REL}>'
            f"b</a> <a {REL}>c</a> <a {REL}>d</a> <a {REL}>e</a> <a {REL}>f</a> <a {REL}>g</a>"
            "</p>\n",
            id="links: http, https and mailto only",
        ),
        pytest.param(
            '<img src="HTTP://X.EXAMPLE/a.png"><img src="mailto:a@b.c"><img src="ftp://x/a.png">'
            '<img src="data:image/png;base64,AAAA"><img src=" https://x.example/a.png">',
            '<p><img src="HTTP://X.EXAMPLE/a.png"><img><img><img><img></p>\n',
            id="images: http and https only",
        ),
        pytest.param(
            '[a](/settings) [b](#top) [c](../x) <a href="//x.example/">d</a> ![e](dragon.png)',
            f'<p><a {REL}>a</a> <a {REL}>b</a> <a {REL}>c</a> <a {REL}>d</a> <img alt="e"></p>\n',
            id="relative and scheme-relative URLs: dropped",
        ),
        pytest.param(
            "[x](javascript:alert(1)) <javascript:alert(1)> [y](vbscript:x) [z](data:text/html,x)",
            "<p>[x](javascript:alert(1)) &lt;javascript:alert(1)&gt; [y](vbscript:x) "
            "[z](data:text/html,x)</p>\n",
            id="Markdown links to script schemes stay text",
        ),
        pytest.param(
            "![y](data:image/png;base64,AAAA) [m](mailto:jake@jake.jake)",
            f'<p><img alt="y"> <a href="mailto:jake@jake.jake" {REL}>m</a></p>\n',
            id="Markdown images of data: lose the address",
        ),
        pytest.param(
            '<code class="language-py">a</code> <code class="language-py hl">b</code> '
            '<code class="hl">c</code> <code class="language-">d</code> <p class="x">e</p>',
            '<p><code class="language-py">a</code> <code>b</code> <code>c</code> <code>d</code> '
            "</p><p>e</p><p></p>\n",
            id="class: one language- word on code only",
        ),
        pytest.param(
            '<table><tr><th align="center" colspan="2" style="x">a</th><td align="justify" '
            'rowspan="2">b</td></tr></table><ol start="5" type="a" reversed><li value="9">x</li>'
            "</ol>",
            '<table><tbody><tr><th align="center" colspan="2">a</th><td rowspan="2">b</td></tr>'
            '</tbody></table><ol start="5"><li>x</li></ol>',
            id="table and list attributes",
        ),
        pytest.param("<!-- hidden --> shown", " shown", id="comments dropped"),
        pytest.param(
            "<b>unclosed <i>nesting</b> more",
            "<p><b>unclosed <i>nesting</i></b><i> more</i></p><i>\n</i>",
            id="broken markup comes out balanced",
        ),
    ],
)
def test_the_sanitizer_keeps_only_the_allow_list(raw, html):
    assert markdown_render(raw) == html


@pytest.mark.parametrize(
    "markdown",
    [
        "[inline](https://x.example/)",
        "[ref][r]\n\n[r]: https://x.example/",
        "<https://x.example/>",
        "https://x.example/",
        "jake@example.com",
        '<a href="https://x.example/">raw</a>',
        '<a href="https://x.example/" rel="opener">raw with rel</a>',
        "<a>no address</a>",
    ],
)
def test_every_link_gets_rel_nofollow_noopener_noreferrer(markdown):
    html = markdown_render(markdown)
    assert html.count("<a ") == html.count(REL) == 1


def test_rendering_is_deterministic():
    body = "# T\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n\nhttps://x.example/ <b title='t'>b</b> ~~s~~\n"
    assert len({markdown_render(body) for _ in range(20)}) == 1


def test_lone_surrogates_become_replacement_characters():
    assert markdown_render("a\ud800b") == "<p>a\ufffdb</p>\n"


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        pytest.param("", 1, id="empty"),
        pytest.param("   \n\t", 1, id="white space only"),
        pytest.param("word", 1, id="1 word"),
        pytest.param(" ".join(["word"] * 265), 1, id="265 words"),
        pytest.param(" ".join(["word"] * 266), 2, id="266 words"),
        pytest.param(" ".join(["word"] * 530), 2, id="530 words"),
        pytest.param(" ".join(["word"] * 531), 3, id="531 words"),
        pytest.param("# Title\n\n" + "- item\n" * 265, 2, id="marks do not count, words do"),
        pytest.param(
            "---\n\n| --- | :-: |\n\n* * *\n\n> > >\n\n```\n```\n\n" + " ".join(["w"] * 265),
            1,
            id="lines of marks only count nothing",
        ),
        pytest.param(
            " ".join(["**bold**"] * 100 + ["[link](https://x.example/a)"] * 100 + ["don't"] * 65),
            1,
            id="a word in markup counts once",
        ),
        pytest.param(
            "Some prose.\n\n```js\n" + "let total = price + tax;\n" * 66 + "```",
            2,
            id="code counts like prose: 3 + 4 x 66 = 267 words",
        ),
        pytest.param("```js\n" + "let total = price + tax;\n" * 66 + "```", 1, id="264 + 1"),
    ],
)
def test_reading_time_at_265_words_a_minute(text, minutes):
    assert reading_time_minutes(text) == minutes
