"""The page frame (header, namespace switcher, menu) and the small stand-alone pages.

Why: every page shares one frame; keeping it in one pure function makes escaping and the CSRF
field easy to test. The stylesheet and the little script (auto-submit of the namespace switcher,
log follow) are served from our own origin so the Content-Security-Policy can forbid inline script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.dashboard.html import Markup, definition_list, hidden, join, link, render, url
from kybernetes.dashboard.kinds import ALL_NAMESPACES, KINDS, SECTIONS, ns_query


@dataclass(frozen=True, slots=True)
class Chrome:
    """What the frame shows about the visitor and where they are."""

    user: str
    csrf: str
    namespace: str  # "" = all namespaces
    namespaces: list[str] = field(default_factory=list)
    path: str = "/"  # the page the namespace switcher reloads
    admin_mode: bool = False
    refresh: int = 0  # seconds; 0 = no auto-refresh
    refresh_toggle: str = ""  # this page with auto-refresh switched


def _switcher(chrome: Chrome) -> Markup:
    options = [(ALL_NAMESPACES, "all namespaces")] + [(n, n) for n in chrome.namespaces]
    if chrome.namespace and chrome.namespace not in chrome.namespaces:
        options.append((chrome.namespace, chrome.namespace))
    opts = join(
        render(
            '<option value="$v"$sel>$t</option>',
            v=v,
            t=t,
            sel=Markup(" selected") if v == ns_query(chrome.namespace) else "",
        )
        for v, t in options
    )
    return render(
        '<form method="get" action="$path" class="ns-switch"><label>namespace '
        '<select name="ns" class="autosubmit">$opts</select></label>$keep'
        "<noscript><button>switch</button></noscript></form>",
        path=chrome.path,
        opts=opts,
        keep=hidden("refresh", chrome.refresh) if chrome.refresh else "",
    )


def _menu(chrome: Chrome) -> Markup:
    ns = ns_query(chrome.namespace)
    sections = [render("<li>$a</li>", a=link(url(ns=ns), "Overview"))]
    for section in SECTIONS:
        items = [k for k in KINDS.values() if k.section == section]
        entries = join(
            render("<li>$a</li>", a=link(url(k.slug, ns=ns if k.namespaced else None), k.title))
            for k in items
        )
        sections.append(render("<li><b>$s</b><ul>$e</ul></li>", s=section, e=entries))
    return render("<nav><ul>$s</ul></nav>", s=join(sections))


def page(title: object, body: Markup, chrome: Chrome | None, *, notice: str = "") -> Markup:
    """A whole HTML document. Without `chrome` (login, errors before login) there is no menu."""
    refresh = (
        render('<meta http-equiv="refresh" content="$n">', n=chrome.refresh)
        if chrome and chrome.refresh
        else ""
    )
    header = Markup("")
    nav = Markup("")
    if chrome is not None:
        who = "admin mode (kubeconfig credentials)" if chrome.admin_mode else chrome.user
        logout = (
            Markup("")
            if chrome.admin_mode
            else render(
                '<form method="post" action="/logout" class="inline">$csrf<button>log out</button></form>',
                csrf=hidden("csrf", chrome.csrf),
            )
        )
        toggle = (
            link(chrome.refresh_toggle, "auto-refresh: on" if chrome.refresh else "auto-refresh: off")
            if chrome.refresh_toggle
            else ""
        )
        header = render(
            '<header><a href="/" class="brand">kybernetes dashboard</a>$switch$toggle'
            '<span class="user">$who</span>$logout</header>',
            switch=_switcher(chrome),
            toggle=toggle,
            who=who,
            logout=logout,
        )
        nav = _menu(chrome)
    note = render('<p class="notice">$n</p>', n=notice) if notice else ""
    return render(
        '<!doctype html><html><head><meta charset="utf-8"><title>$title - kybernetes</title>'
        '<meta name="viewport" content="width=device-width">$refresh'
        '<link rel="stylesheet" href="/static/dashboard.css"></head>'
        '<body>$header<div class="frame">$nav<main>$note<h1>$title</h1>$body</main></div>'
        '<script src="/static/dashboard.js"></script></body></html>',
        title=title,
        refresh=refresh,
        header=header,
        nav=nav,
        note=note,
        body=body,
    )


def login_page(csrf: str, *, error: str = "") -> Markup:
    err = render('<p class="error">$e</p>', e=error) if error else ""
    body = render(
        '$err<form method="post" action="/login" class="login">$csrf'
        '<label>Bearer token<textarea name="token" rows="6" cols="80" autocomplete="off" required></textarea></label>'
        "<button>Sign in</button></form>"
        "<p>Create a token for a ServiceAccount with <code>kubectl create token NAME -n NAMESPACE</code>; "
        "what you can see and do is what its RBAC bindings allow.</p>",
        err=err,
        csrf=hidden("csrf", csrf),
    )
    return page("Sign in", body, None)


def status_message(status: Mapping[str, Any]) -> str:
    """The line a user reads from an API Status (kubectl prints the same)."""
    message = str(status.get("message") or "")
    reason = str(status.get("reason") or "")
    return f"Error from server ({reason}): {message}" if reason else f"Error from server: {message}"


def error_page(status: Mapping[str, Any], chrome: Chrome | None) -> Markup:
    details = status.get("details") if isinstance(status.get("details"), dict) else {}
    causes = (details or {}).get("causes") or []
    items = join(
        render("<li>$f: $m</li>", f=c.get("field", ""), m=c.get("message", ""))
        for c in causes
        if isinstance(c, dict)
    )
    body = render(
        '<p class="error">$m</p>$causes',
        m=status_message(status),
        causes=render("<ul>$i</ul>", i=items) if items else "",
    )
    return page(f"{status.get('code') or 'Error'} {status.get('reason') or ''}".strip(), body, chrome)


def confirm_delete_page(kind: str, name: str, namespace: str, action: str, chrome: Chrome) -> Markup:
    where = definition_list(
        [("Kind", kind), ("Name", name)] + ([("Namespace", namespace)] if namespace else [])
    )
    body = render(
        "<p>Delete this object? This cannot be undone; objects it owns are deleted in the background.</p>$where"
        '<form method="post" action="$a">$csrf<button class="danger">Delete</button></form>',
        where=where,
        a=action,
        csrf=hidden("csrf", chrome.csrf),
    )
    return page(f"Delete {kind} {name}", body, chrome)


def not_found_page(what: str, chrome: Chrome | None) -> Markup:
    return page("Not found", render('<p class="error">$w</p>', w=what), chrome)


STYLESHEET = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{display:flex;gap:1.5em;align-items:center;background:#1f3b5a;color:#fff;padding:.5em 1em}
header a.brand{color:#fff;font-weight:bold;text-decoration:none}
header .user{margin-left:auto}
.frame{display:flex}
nav{min-width:12em;padding:1em;background:#f3f5f7}
nav ul{list-style:none;padding-left:.5em;margin:.2em 0}
main{padding:1em 2em;flex:1;overflow-x:auto}
table{border-collapse:collapse;margin:.5em 0}
th,td{border-bottom:1px solid #ddd;padding:.25em .8em;text-align:left;vertical-align:top}
th{background:#f3f5f7}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;max-height:40em}
.label{background:#e8eef5;border-radius:3px;padding:0 .3em;font-family:monospace}
.error{color:#a00;font-weight:bold}
.notice{color:#075;font-weight:bold}
.inline{display:inline}
.danger{background:#a00;color:#fff}
.cards{display:flex;gap:1em;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:4px;padding:.5em 1em;min-width:10em}
.card b{font-size:1.6em;display:block}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
dt{font-weight:bold}
dd{margin:0}
"""

SCRIPT = """
document.querySelectorAll('select.autosubmit').forEach(function (s) {
  s.addEventListener('change', function () { s.form.submit(); });
});
var logs = document.getElementById('logs');
if (logs && logs.dataset.follow) {
  setInterval(function () {
    fetch(logs.dataset.follow, {credentials: 'same-origin'}).then(function (r) {
      return r.text();
    }).then(function (t) {
      var atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 5;
      logs.textContent = t;
      if (atEnd) { logs.scrollTop = logs.scrollHeight; }
    });
  }, 2000);
}
"""
