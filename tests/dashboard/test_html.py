"""Escaping rules of the dashboard's HTML helpers: text is escaped, Markup is not."""

from __future__ import annotations

import pytest

from kybernetes.dashboard.html import Markup, esc, join, labels, link, post_button, render, table, url

EVIL = '<script>alert("x")</script>'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("plain", "plain", id="plain-text"),
        pytest.param(EVIL, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", id="script-tag"),
        pytest.param("a'b\"c&d", "a&#x27;b&quot;c&amp;d", id="quotes-and-ampersand"),
        pytest.param(None, "", id="none-is-empty"),
        pytest.param(3, "3", id="number"),
        pytest.param(Markup("<b>ok</b>"), "<b>ok</b>", id="markup-kept"),
    ],
)
def test_esc(value: object, expected: str) -> None:
    assert esc(value) == expected


def test_render_escapes_values_but_not_markup() -> None:
    out = render('<p title="$t">$body</p>', t='"><img src=x>', body=Markup("<i>x</i>"))
    assert out == '<p title="&quot;&gt;&lt;img src=x&gt;"><i>x</i></p>'
    assert isinstance(out, Markup)


def test_render_missing_placeholder_is_an_error() -> None:
    with pytest.raises(KeyError):
        render("$missing")


def test_markup_concatenation_escapes_plain_text() -> None:
    out = Markup("<p>") + EVIL
    assert isinstance(out, Markup)
    assert "<script>" not in out


def test_join_escapes_parts_and_separator() -> None:
    assert join(["<a>", Markup("<b>")], "<") == "&lt;a&gt;&lt;<b>"


@pytest.mark.parametrize(
    ("segments", "query", "expected"),
    [
        pytest.param(("pods",), {"ns": "default"}, "/pods?ns=default", id="list"),
        pytest.param(("pods", "a/b?c"), {}, "/pods/a%2Fb%3Fc", id="segment-encoded-whole"),
        pytest.param((), {"ns": "x y", "done": ""}, "/?ns=x+y", id="empty-values-dropped"),
        pytest.param(("javascript:alert(1)",), {}, "/javascript%3Aalert%281%29", id="no-scheme-escape"),
    ],
)
def test_url(segments: tuple[str, ...], query: dict[str, object], expected: str) -> None:
    assert url(*segments, **query) == expected


def test_link_and_table_escape() -> None:
    assert link('/x?a=1&b="2"', EVIL) == (
        '<a href="/x?a=1&amp;b=&quot;2&quot;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</a>'
    )
    out = table(["<h>"], [[EVIL, Markup("<em>ok</em>")]])
    assert "<script>" not in out and "<em>ok</em>" in out and "&lt;h&gt;" in out
    assert "No resources found." in table(["A"], [])


def test_labels_and_post_button() -> None:
    assert labels({"b": EVIL, "a": "1"}).startswith('<span class="label">a=1</span>')
    assert "<script>" not in labels({"b": EVIL})
    form = post_button("/pods/x/delete", "Delete", 'tok"en', fields={"replicas": 3})
    assert 'name="csrf" value="tok&quot;en"' in form and 'name="replicas" value="3"' in form
