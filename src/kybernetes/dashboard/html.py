"""HTML building blocks for the dashboard: escaping by default, markup only on purpose.

Why: every page shows text that users and workloads control (names, labels, annotations, event
messages, ConfigMap data, log lines, even the `ns` query parameter). The one rule that keeps that
harmless is that a plain `str` is always escaped when it meets HTML; only `Markup` (text this module
or a template built) passes through as is. `render` fills a `string.Template` (``$name``) with
escaped values, so a template author cannot forget to escape.

Assumptions: attribute values are always double-quoted in our templates (escaping covers quotes);
URLs are built by `url` from path segments and query values, so an object name cannot break out of
a path or smuggle a ``javascript:`` scheme.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from string import Template
from urllib.parse import quote, urlencode


class Markup(str):
    """Text that is already HTML (built by `render`, `join` and friends); never escaped again."""

    __slots__ = ()

    def __add__(self, other: str) -> Markup:
        """Concatenation keeps the rule: a plain str on the right is escaped."""
        return Markup(str.__add__(self, esc(other)))


def esc(value: object) -> Markup:
    """`value` as HTML: Markup stays, None is empty, anything else is escaped text."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(html.escape(str(value), quote=True))


def render(template: str, /, **values: object) -> Markup:
    """Fill ``$name`` placeholders of `template` with escaped values (a missing one is an error)."""
    return Markup(Template(template).substitute({k: esc(v) for k, v in values.items()}))


def join(parts: Iterable[object], sep: object = "") -> Markup:
    return Markup(esc(sep).join(esc(p) for p in parts))


def url(*segments: str, **query: object) -> str:
    """An absolute dashboard path from segments (each percent-encoded whole) and a query
    (None and "" values are left out)."""
    path = "/" + "/".join(quote(s, safe="") for s in segments if s)
    params = {k: str(v) for k, v in query.items() if v is not None and v != ""}
    return path + ("?" + urlencode(params) if params else "")


def link(href: str, text: object, *, cls: str = "") -> Markup:
    if cls:
        return render('<a href="$href" class="$cls">$text</a>', href=href, text=text, cls=cls)
    return render('<a href="$href">$text</a>', href=href, text=text)


def table(
    headers: Iterable[object], rows: Iterable[Iterable[object]], *, empty: str = "No resources found."
) -> Markup:
    """A table; cells are escaped unless they are Markup. No rows renders `empty` instead."""
    body = [Markup("<tr>") + join(render("<td>$c</td>", c=c) for c in row) + Markup("</tr>") for row in rows]
    if not body:
        return render('<p class="empty">$e</p>', e=empty)
    head = join(render("<th>$h</th>", h=h) for h in headers)
    return render(
        "<table><thead><tr>$head</tr></thead><tbody>$body</tbody></table>", head=head, body=join(body)
    )


def definition_list(items: Iterable[tuple[object, object]]) -> Markup:
    return render("<dl>$items</dl>", items=join(render("<dt>$k</dt><dd>$v</dd>", k=k, v=v) for k, v in items))


def labels(mapping: Mapping[str, object] | None) -> Markup:
    """key=value chips for labels and selectors."""
    if not mapping:
        return Markup("")
    return join(
        (render('<span class="label">$k=$v</span>', k=k, v=v) for k, v in sorted(mapping.items())), " "
    )


def hidden(name: str, value: object) -> Markup:
    return render('<input type="hidden" name="$n" value="$v">', n=name, v=value)


def post_button(
    action: str, label: str, csrf: str, *, fields: Mapping[str, object] | None = None, cls: str = ""
) -> Markup:
    """A one-button form that POSTs `fields` (and the CSRF token) to `action`."""
    inputs = join(hidden(k, v) for k, v in (fields or {}).items())
    return render(
        '<form method="post" action="$a" class="inline">$csrf$inputs<button class="$cls">$label</button></form>',
        a=action,
        csrf=hidden("csrf", csrf),
        inputs=inputs,
        label=label,
        cls=cls,
    )
