"""Pure renderers for one object's page and for pod logs.

Why: a detail page gathers what `kubectl describe` shows (metadata, conditions, containers,
related pods, events) plus the YAML and the actions the kind allows. Secret values stay hidden:
the YAML shows them redacted and each value is revealed only when the user opens its <details>
element (no script involved). `managedFields` are left out of the YAML as `kubectl get -o yaml`
does by default.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from kybernetes.dashboard.html import (
    Markup,
    definition_list,
    hidden,
    join,
    labels,
    link,
    post_button,
    render,
    table,
    url,
)
from kybernetes.dashboard.kinds import KINDS, Kind
from kybernetes.dashboard.pages import object_link, table_view

REDACTED = "<hidden>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def redacted(obj: Mapping[str, Any], kind: Kind) -> dict[str, Any]:
    """The object as the YAML view shows it: no managedFields; a Secret's values (and its
    last-applied annotation, which repeats them) replaced."""
    out = copy.deepcopy(dict(obj))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    if kind.slug == "secrets":
        for key in ("data", "stringData"):
            if isinstance(out.get(key), dict):
                out[key] = {k: REDACTED for k in out[key]}
        ann = meta.get("annotations") if isinstance(meta, dict) else None
        if isinstance(ann, dict) and LAST_APPLIED in ann:
            ann[LAST_APPLIED] = REDACTED
    return out


def to_yaml(obj: Mapping[str, Any]) -> str:
    return str(yaml.safe_dump(obj, default_flow_style=False, sort_keys=False, allow_unicode=True))


def decode_secret_value(value: Any) -> str:
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return str(value)
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return f"({len(raw)} bytes of binary data)"


def _conditions(obj: Mapping[str, Any]) -> Markup:
    conds = [c for c in (obj.get("status") or {}).get("conditions") or [] if isinstance(c, dict)]
    if not conds:
        return Markup("")
    rows = [
        [
            c.get("type", ""),
            c.get("status", ""),
            c.get("reason", ""),
            c.get("message", ""),
            c.get("lastTransitionTime", ""),
        ]
        for c in conds
    ]
    return render(
        "<h2>Conditions</h2>$t", t=table(["TYPE", "STATUS", "REASON", "MESSAGE", "LAST TRANSITION"], rows)
    )


def _container_state(status: Mapping[str, Any]) -> str:
    state = status.get("state") or {}
    for key, value in state.items():
        reason = (value or {}).get("reason") if isinstance(value, dict) else None
        return f"{key} ({reason})" if reason else str(key)
    return ""


def _containers(pod: Mapping[str, Any]) -> Markup:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    by_name = {
        s.get("name"): s
        for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])
        if isinstance(s, dict)
    }
    meta = pod.get("metadata") or {}
    rows = []
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        st = by_name.get(c.get("name"), {})
        logs = link(
            url("pods", str(meta.get("name", "")), "logs", ns=meta.get("namespace"), container=c.get("name")),
            "logs",
        )
        rows.append(
            [
                c.get("name", ""),
                c.get("image", ""),
                "true" if st.get("ready") else "false",
                st.get("restartCount", 0),
                _container_state(st),
                logs,
            ]
        )
    return render("<h2>Containers</h2>$t", t=table(["NAME", "IMAGE", "READY", "RESTARTS", "STATE", ""], rows))


def _data_section(obj: Mapping[str, Any], kind: Kind) -> Markup:
    if kind.slug == "configmaps":
        data = obj.get("data") or {}
        rows = [[k, render("<pre>$v</pre>", v=v)] for k, v in sorted(data.items())]
        binary = obj.get("binaryData") or {}
        rows += [[k, f"({len(str(v))} base64 characters of binary data)"] for k, v in sorted(binary.items())]
        return render("<h2>Data</h2>$t", t=table(["KEY", "VALUE"], rows, empty="No data."))
    if kind.slug == "secrets":
        data = obj.get("data") or {}
        rows = [
            [
                k,
                render(
                    "<details><summary>show value</summary><pre>$v</pre></details>", v=decode_secret_value(v)
                ),
            ]
            for k, v in sorted(data.items())
        ]
        return render(
            "<h2>Data</h2><p>Type: $t</p>$tbl",
            t=obj.get("type", ""),
            tbl=table(["KEY", "VALUE"], rows, empty="No data."),
        )
    return Markup("")


def _owners(meta: Mapping[str, Any], namespace: str) -> Markup:
    by_kind = {k.kind: k for k in KINDS.values()}
    refs = [r for r in meta.get("ownerReferences") or [] if isinstance(r, dict)]
    parts = []
    for r in refs:
        k = by_kind.get(str(r.get("kind")))
        name = str(r.get("name", ""))
        parts.append(
            object_link(k, name, namespace, f"{r.get('kind')}/{name}")
            if k
            else render("$k/$n", k=r.get("kind"), n=name)
        )
    return join(parts, ", ")


def actions(obj: Mapping[str, Any], kind: Kind, csrf: str) -> Markup:
    """The forms for what a user may try on this object (the API decides whether it is allowed)."""
    meta = obj.get("metadata") or {}
    name, ns = str(meta.get("name", "")), str(meta.get("namespace") or "")
    nsq = ns if kind.namespaced else None
    out: list[Markup] = []
    if kind.scalable:
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        out.append(
            render(
                '<form method="post" action="$a" class="inline">$csrf<label>replicas '
                '<input type="number" name="replicas" min="0" value="$r"></label><button>Scale</button></form>',
                a=url(kind.slug, name, "scale", ns=nsq),
                csrf=hidden("csrf", csrf),
                r=replicas,
            )
        )
    if kind.restartable:
        out.append(post_button(url(kind.slug, name, "restart", ns=nsq), "Restart", csrf))
    if kind.slug == "nodes":
        cordoned = bool((obj.get("spec") or {}).get("unschedulable"))
        out.append(
            post_button(
                url("nodes", name, "uncordon" if cordoned else "cordon"),
                "Uncordon" if cordoned else "Cordon",
                csrf,
            )
        )
    if kind.slug == "pods":
        out.append(link(url("pods", name, "logs", ns=ns), "Logs"))
    out.append(link(url(kind.slug, name, "delete", ns=nsq), "Delete…", cls="danger"))
    return render('<p class="actions">$a</p>', a=join(out, " "))


def detail_body(
    obj: Mapping[str, Any],
    kind: Kind,
    *,
    csrf: str,
    pods: Mapping[str, Any] | str | None = None,
    events: Mapping[str, Any] | str | None = None,
) -> Markup:
    """One object's page. `pods`/`events` are Tables, or a string: why they could not be listed."""
    meta = obj.get("metadata") or {}
    ns = str(meta.get("namespace") or "")
    annotations = dict(meta.get("annotations") or {})
    if kind.slug == "secrets" and LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = REDACTED
    summary: list[tuple[object, object]] = [("Name", meta.get("name", ""))]
    if ns:
        summary.append(("Namespace", link(url("pods", ns=ns), ns)))
    summary += [
        ("Kind", obj.get("kind") or kind.kind),
        ("UID", meta.get("uid", "")),
        ("Created", meta.get("creationTimestamp", "")),
        ("Labels", labels(meta.get("labels"))),
        ("Annotations", labels(annotations)),
    ]
    if meta.get("ownerReferences"):
        summary.append(("Controlled by", _owners(meta, ns)))
    if meta.get("deletionTimestamp"):
        summary.append(("Deleting since", meta["deletionTimestamp"]))
    parts = [actions(obj, kind, csrf), definition_list(summary), _conditions(obj)]
    if kind.slug == "pods":
        parts.append(_containers(obj))
    parts.append(_data_section(obj, kind))
    if pods is not None:
        parts.append(render("<h2>Pods</h2>$p", p=_table_or_error(pods, KINDS["pods"])))
    if events is not None:
        parts.append(render("<h2>Events</h2>$e", e=_table_or_error(events, KINDS["events"])))
    parts.append(render("<h2>YAML</h2><pre>$y</pre>", y=to_yaml(redacted(obj, kind))))
    return join(parts)


def _table_or_error(value: Mapping[str, Any] | str, kind: Kind) -> Markup:
    if isinstance(value, str):
        return render('<p class="error">$e</p>', e=value)
    return table_view(value, kind, all_namespaces=False)


def selector_of(obj: Mapping[str, Any], kind: Kind) -> str:
    """The label selector of the pods an object manages ("" when it has none we can express)."""
    spec = obj.get("spec") or {}
    if kind.slug == "services":
        sel = spec.get("selector") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    if not kind.selects_pods:
        return ""
    selector = spec.get("selector") or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            terms.append(str(key))
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


# --- logs ----------------------------------------------------------------------------------------------
def logs_body(
    pod: Mapping[str, Any], *, container: str, tail: int, text: str, error: str = "", follow: bool = False
) -> Markup:
    """The log page: container picker, tail size, follow toggle and the text itself."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    name, ns = str(meta.get("name", "")), str(meta.get("namespace", ""))
    names: Sequence[str] = [
        str(c.get("name")) for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
    ]
    options = join(
        render('<option value="$c"$s>$c</option>', c=c, s=Markup(" selected") if c == container else "")
        for c in names
    )
    form = render(
        '<form method="get" action="$a">$ns<label>container <select name="container">$o</select></label> '
        '<label>lines <input type="number" name="tail" min="1" value="$t"></label> '
        '<label><input type="checkbox" name="follow" value="1"$f> follow</label> <button>show</button></form>',
        a=url("pods", name, "logs"),
        ns=hidden("ns", ns),
        o=options,
        t=tail,
        f=Markup(" checked") if follow else "",
    )
    follow_url = url("pods", name, "logs.txt", ns=ns, container=container, tail=tail) if follow else ""
    shown = (
        render('<p class="error">$e</p>', e=error)
        if error
        else render('<pre id="logs" data-follow="$f">$t</pre>', f=follow_url, t=text)
    )
    back = render("<p>Pod $p</p>", p=object_link(KINDS["pods"], name, ns))
    return back + form + shown
