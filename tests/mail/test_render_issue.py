"""Issue rendering: rendered once, personalised per subscriber, nothing unsafe gets through."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from newsletter.mail.compiled import compile_issue
from newsletter.mail.render import SubscriberFields, TemplateProblem
from newsletter.subscribers.links import Links

LINKS = Links("https://news.example/unsubscribe/tok", "https://news.example/preferences/tok")


def compiled(body: str, subject: str = "Hello"):
    return compile_issue(subject, "A preheader", body, site_name="Site", postal_address="1 Road")


def test_personalisation_with_fallback_and_attributes(app):
    with app.app_context():
        issue = compiled(
            'Hi {{ subscriber.name | default("reader") }} from {{ subscriber.attributes.city }}'
        )
        named = issue.render(SubscriberFields("a@example.org", "Ann", {"city": "Paris"}), LINKS)
        nameless = issue.render(SubscriberFields("b@example.org"), LINKS)
    assert "Hi Ann from Paris" in named.text and "Hi Ann from Paris" in named.html
    assert "Hi reader from" in nameless.text


def test_subscriber_values_are_escaped_in_html_and_plain_in_text(app):
    with app.app_context():
        issue = compiled("Dear {{ subscriber.name }}")
        out = issue.render(SubscriberFields("a@example.org", "<script>alert(1)</script>"), LINKS)
    assert "<script>" not in out.html
    assert "&lt;script&gt;" in out.html
    assert "Dear <script>alert(1)</script>" in out.text


def test_script_tags_and_javascript_links_in_the_body_are_stripped(app):
    body = (
        '<script>alert(1)</script>\n\n[click](javascript:alert(2)) <img src=x onerror="alert(3)">'
    )
    with app.app_context():
        out = compiled(body).render(SubscriberFields("a@example.org"), LINKS)
    assert "<script" not in out.html and "alert(1)" not in out.html
    assert 'href="javascript' not in out.html and "onerror" not in out.html


def test_a_link_filled_from_an_attribute_must_be_http(app):
    with app.app_context():
        issue = compiled("[home]({{ subscriber.attributes.site }})")
        bad = issue.render(
            SubscriberFields("a@example.org", attributes={"site": "javascript:alert(1)"}), LINKS
        )
        good = issue.render(
            SubscriberFields("a@example.org", attributes={"site": "https://a.example"}), LINKS
        )
    assert 'href="#"' in bad.html and "javascript" not in bad.html
    assert 'href="https://a.example"' in good.html


@pytest.mark.parametrize(
    "body",
    [
        "{{ subscriber.name ",
        "{{ subscriber.name | no_such_filter }}",
        "{{ subscriber.name | safe }}",  # a subscriber's name is never trusted as HTML
        "{% if subscriber.name %}x{% endif %}",
        "{{ 'x' * 1000000000 }}",
    ],
)
def test_broken_expressions_raise_a_clear_template_problem(app, body):
    with app.app_context(), pytest.raises(TemplateProblem):
        compiled(body)


def test_sandbox_hides_python_internals(app):
    with app.app_context():
        out = compiled("x{{ subscriber.__class__.__mro__ }}y").render(
            SubscriberFields("a@b.org"), None
        )
    assert "xy" in out.text


def test_footer_has_personal_links_only_when_given(app):
    with app.app_context():
        issue = compiled("Body")
        mail = issue.render(SubscriberFields("a@example.org"), LINKS)
        archive = issue.render(SubscriberFields("a@example.org"), None)
    assert LINKS.unsubscribe_url in mail.html and LINKS.unsubscribe_url in mail.text
    assert LINKS.preferences_url in mail.html
    assert "/unsubscribe/" not in archive.html and "/unsubscribe/" not in archive.text
    assert "1 Road" in mail.html and "1 Road" in archive.text


def test_css_is_inlined_for_mail_clients(app):
    with app.app_context():
        html = compiled("# Title").render(SubscriberFields("a@example.org"), LINKS).html
    assert '<h1 style="' in html and "<body style=" in html


HOSTILE = SubscriberFields(
    "a&b@example.org", "<b>\"Zoë\" & 'co'</b>", {"n": 0, "tag": "<i>", "items": "x"}
)
EMPTY = SubscriberFields("e@example.org", "", {"flag": True, "none": None, "list": [1, "<2>"]})


@pytest.mark.parametrize(
    ("expression", "subscriber", "text", "html"),
    [
        ("subscriber.name", HOSTILE, "<b>\"Zoë\" & 'co'</b>",
         "&lt;b&gt;&#34;Zoë&#34; &amp; &#39;co&#39;&lt;/b&gt;"),
        ("subscriber.email", HOSTILE, "a&b@example.org", "a&amp;b@example.org"),
        ("subscriber.name | default('<Reader>')", EMPTY, "<Reader>", "&lt;Reader&gt;"),
        ('subscriber.name|d("friend")', HOSTILE, "<b>\"Zoë\" & 'co'</b>",
         "&lt;b&gt;&#34;Zoë&#34; &amp; &#39;co&#39;&lt;/b&gt;"),
        ("subscriber.attributes.tag", HOSTILE, "<i>", "&lt;i&gt;"),
        ("subscriber.attributes['tag']", HOSTILE, "<i>", "&lt;i&gt;"),
        ("subscriber.attributes.n | default('none')", HOSTILE, "none", "none"),
        ("subscriber.attributes.n", HOSTILE, "0", "0"),
        ("subscriber.attributes.missing", HOSTILE, "", ""),
        ("subscriber.attributes.items", HOSTILE, "x", "x"),  # the column, not dict.items
        ("subscriber.attributes.keys", HOSTILE, "", ""),
        ("subscriber.attributes.items | upper", HOSTILE, "X", "X"),  # in the sandbox too
        ("subscriber.attributes.missing | fallback('x')", HOSTILE, "x", "x"),
        ("subscriber.attributes.flag", EMPTY, "True", "True"),
        ("subscriber.attributes.none", EMPTY, "None", "None"),
        ("subscriber.attributes.list", EMPTY, "[1, '<2>']", "[1, &#39;&lt;2&gt;&#39;]"),
        ("subscriber.name | default('x', false)", EMPTY, "", ""),
        ("subscriber.name | upper", HOSTILE, "<B>\"ZOË\" & 'CO'</B>",
         "&lt;B&gt;&#34;ZOË&#34; &amp; &#39;CO&#39;&lt;/B&gt;"),
    ],
)  # fmt: skip
def test_each_subscriber_gets_their_own_values_escaped_only_in_html(
    app, expression, subscriber, text, html
):
    with app.app_context():
        out = compiled(f"@@{{{{ {expression} }}}}@@").render(subscriber, LINKS)
    assert f"@@{text}@@" in out.text
    assert f"@@{html}@@" in out.html


def _urls_a_browser_follows(html: str) -> list[str]:
    """Every href and src as a browser reads it: entities decoded, C0 controls and spaces
    around it dropped, tabs and newlines inside it dropped (WHATWG URL parsing)."""
    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name in {"href", "src"} and value is not None:
                    cleaned = value.strip("".join(map(chr, range(0x21))))
                    found.append(re.sub(r"[\t\n\r]", "", cleaned))

    Parser().feed(html)
    return found


def _scheme(url: str) -> str | None:
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", url)
    return match.group(1).lower() if match else None


HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " \tjavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "&#106;avascript:alert(1)",
]


# What an admin may write before a link's expression that a browser skips.
SKIPPED_BEFORE = [" ", "\t", "\n", "&#32;", "&#x09;", "&#10;", "&#13;", " \t&#x0A;&#x0C;"]


def test_a_link_filled_from_an_attribute_is_checked_as_a_browser_reads_it(app):
    with app.app_context():
        for before in SKIPPED_BEFORE:
            issue = compiled(
                f'<a href="{before}{{{{ subscriber.attributes.url }}}}">home</a> '
                f'<img src="{before}{{{{ subscriber.attributes.url }}}}" alt="">'
            )
            for url in HOSTILE_URLS:
                subscriber = SubscriberFields("a@example.org", attributes={"url": url})
                followed = _urls_a_browser_follows(issue.render(subscriber, LINKS).html)
                schemes = {_scheme(u) for u in followed}
                assert schemes <= {None, "http", "https", "mailto"}, (before, url, schemes)
            subscriber = SubscriberFields("a@example.org", attributes={"url": "https://a.example"})
            followed = _urls_a_browser_follows(issue.render(subscriber, LINKS).html)
            assert followed.count("https://a.example") == 2, (before, followed)


def test_an_expression_cannot_complete_a_links_scheme(app):
    with app.app_context():
        for before in ["java", "JaVa", " java", "&#106;ava", "\tjava", "vb", "da"]:
            with pytest.raises(TemplateProblem, match="scheme"):
                compiled(f'<a href="{before}{{{{ subscriber.attributes.rest }}}}">home</a>')


def test_an_expression_after_a_links_scheme_or_path_is_kept(app):
    subscriber = SubscriberFields("a@example.org", attributes={"rest": "javascript:x"})
    with app.app_context():
        for before in ["https://example.org/?u=", "mailto:", "/path/", "#"]:
            issue = compiled(f'<a href="{before}{{{{ subscriber.attributes.rest }}}}">home</a>')
            followed = _urls_a_browser_follows(issue.render(subscriber, LINKS).html)
            assert f"{before}javascript:x" in followed, (before, followed)
