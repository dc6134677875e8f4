"""Pure renderers for the overview, list and node pages, from what the API answered.

Why: handlers fetch, these functions decide what the user sees, so they are tested with plain
dicts. Lists come as server-side Tables (the columns of `kubectl get`); a cell is always shown as
escaped text, and the Name column links to the object's page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kybernetes.dashboard.html import Markup, join, link, render, table, url
from kybernetes.dashboard.kinds import KINDS, Kind, ns_query
from kybernetes.machinery.quantity import parse_quantity

Obj = dict[str, Any]


def _meta(row: Mapping[str, Any]) -> Mapping[str, Any]:
    obj = row.get("object")
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta if isinstance(meta, dict) else {}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return str(value)
    return str(value)


def table_view(tbl: Mapping[str, Any], kind: Kind, *, all_namespaces: bool, wide: bool = False) -> Markup:
    """A server Table as HTML: priority-0 columns (all with `wide`), a NAMESPACE column first when
    listing across namespaces (as kubectl -A adds it), the name linked to the object's page."""
    columns = [c for c in (tbl.get("columnDefinitions") or []) if isinstance(c, dict)]
    shown = [i for i, c in enumerate(columns) if wide or not c.get("priority")]
    headers: list[object] = [str(columns[i].get("name", "")).upper() for i in shown]
    name_col = next((pos for pos, i in enumerate(shown) if columns[i].get("name") == "Name"), None)
    object_col = next((pos for pos, i in enumerate(shown) if columns[i].get("name") == "Object"), None)
    ns_col = kind.namespaced and all_namespaces
    if ns_col:
        headers.insert(0, "NAMESPACE")
    rows: list[list[object]] = []
    for row in tbl.get("rows") or []:
        if not isinstance(row, dict):
            continue
        cells = row.get("cells") or []
        out: list[object] = [_cell(cells[i]) if i < len(cells) else "" for i in shown]
        meta = _meta(row)
        ns = str(meta.get("namespace") or "")
        if name_col is not None and meta.get("name"):
            out[name_col] = object_link(kind, str(meta["name"]), ns)
        if object_col is not None and kind.slug == "events":
            out[object_col] = involved_object_link(str(out[object_col]), ns)
        if ns_col:
            out.insert(0, link(url(kind.slug, ns=ns), ns) if ns else "")
        rows.append(out)
    return table(headers, rows)


def involved_object_link(text: str, namespace: str) -> object:
    """An event's OBJECT cell ("pod/web-1") as a link when the dashboard shows that kind."""
    kind_name, _, name = text.partition("/")
    target = next((k for k in KINDS.values() if k.kind.lower() == kind_name.lower()), None)
    if target is None or not name:
        return text
    return object_link(target, name, namespace, text)


def object_link(kind: Kind, name: str, namespace: str, text: object = None) -> Markup:
    return link(
        url(kind.slug, name, ns=namespace if kind.namespaced else None), name if text is None else text
    )


def list_page_body(tbl: Mapping[str, Any] | None, kind: Kind, *, namespace: str, error: str = "") -> Markup:
    """The body of a list page; `error` (a forbidden list, say) is shown instead of a table."""
    scope = "all namespaces" if not namespace or not kind.namespaced else f"namespace {namespace}"
    head = render('<p class="scope">$s</p>', s=scope if kind.namespaced else "cluster-scoped")
    if error:
        return head + render('<p class="error">$e</p>', e=error)
    return head + table_view(tbl or {}, kind, all_namespaces=kind.namespaced and not namespace)


# --- overview ----------------------------------------------------------------------------------------
def node_ready(node: Mapping[str, Any]) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def overview_body(
    *,
    namespaces: Sequence[Obj] | str,
    nodes: Sequence[Obj] | str,
    counts: Mapping[str, int | str],
    warnings: Mapping[str, Any] | str,
    namespace: str,
) -> Markup:
    """Cards with counts, then recent warnings. A string in place of data is that list's error."""
    cards: list[Markup] = []
    if isinstance(nodes, str):
        cards.append(_card("Nodes", "?", nodes))
    else:
        ready = sum(1 for n in nodes if node_ready(n))
        cards.append(_card("Nodes", len(nodes), f"{ready} ready", href=url("nodes")))
    if isinstance(namespaces, str):
        cards.append(_card("Namespaces", "?", namespaces))
    else:
        active = sum(1 for n in namespaces if (n.get("status") or {}).get("phase", "Active") == "Active")
        cards.append(_card("Namespaces", len(namespaces), f"{active} active", href=url("namespaces")))
    for slug, count in counts.items():
        kind = KINDS[slug]
        if isinstance(count, str):
            cards.append(_card(kind.title, "?", count))
        else:
            cards.append(_card(kind.title, count, "", href=url(slug, ns=ns_query(namespace))))
    scope = f"in namespace {namespace}" if namespace else "in all namespaces"
    if isinstance(warnings, str):
        warn = render('<p class="error">$e</p>', e=warnings)
    else:
        warn = table_view(warnings, KINDS["events"], all_namespaces=not namespace)
    return render(
        '<section class="cards">$cards</section><h2>Recent warnings $scope</h2>$warn',
        cards=join(cards),
        scope=scope,
        warn=warn,
    )


def _card(title: str, value: object, sub: str, *, href: str = "") -> Markup:
    head = link(href, title) if href else title
    return (
        render('<div class="card">$h<b>$v</b><span class="error">$e</span></div>', h=head, v=value, e=sub)
        if value == "?"
        else render('<div class="card">$h<b>$v</b>$s</div>', h=head, v=value, s=sub)
    )


def recent_warnings(tbl: Mapping[str, Any], limit: int = 10) -> dict[str, Any]:
    """The Table cut to the `limit` latest warnings (rows carry whole Events: includeObject=Object)."""

    def when(row: Mapping[str, Any]) -> str:
        ev = row.get("object") or {}
        return str(
            ev.get("lastTimestamp")
            or ev.get("eventTime")
            or (ev.get("metadata") or {}).get("creationTimestamp")
            or ""
        )

    rows = [r for r in tbl.get("rows") or [] if isinstance(r, dict)]
    rows.sort(key=when, reverse=True)
    return {**tbl, "rows": rows[:limit]}


# --- nodes ---------------------------------------------------------------------------------------------
def cpu_text(millicores: int) -> str:
    return f"{millicores}m"


def memory_text(value: int) -> str:
    return f"{value // (1024 * 1024)}Mi"


def _quantity(value: Any, milli: bool) -> int | None:
    try:
        q = parse_quantity(str(value))
    except (ValueError, TypeError):
        return None
    return q.milli_value() if milli else q.value_int()


def node_usage_cells(node: Mapping[str, Any], metrics: Mapping[str, Any] | None) -> list[str]:
    """kubectl top node's numbers: CPU(cores) CPU% MEMORY(bytes) MEMORY% of allocatable."""
    if not metrics:
        return ["<unknown>"] * 4
    usage = metrics.get("usage") or {}
    alloc = (node.get("status") or {}).get("allocatable") or {}
    cpu = _quantity(usage.get("cpu", "0"), True)
    mem = _quantity(usage.get("memory", "0"), False)
    cpu_alloc = _quantity(alloc.get("cpu", "0"), True)
    mem_alloc = _quantity(alloc.get("memory", "0"), False)
    cells = [cpu_text(cpu) if cpu is not None else "?"]
    cells.append(f"{cpu * 100 // cpu_alloc}%" if cpu is not None and cpu_alloc else "<unknown>")
    cells.append(memory_text(mem) if mem is not None else "?")
    cells.append(f"{mem * 100 // mem_alloc}%" if mem is not None and mem_alloc else "<unknown>")
    return cells


def nodes_body(
    tbl: Mapping[str, Any], metrics: Mapping[str, Mapping[str, Any]] | None, *, metrics_error: str = ""
) -> Markup:
    """The nodes Table (rows with whole Nodes) plus capacity, allocatable and current usage."""
    base = table_view(tbl, KINDS["nodes"], all_namespaces=False)
    rows: list[list[object]] = []
    for row in tbl.get("rows") or []:
        node = row.get("object") if isinstance(row, dict) else None
        if not isinstance(node, dict):
            continue
        name = str((node.get("metadata") or {}).get("name") or "")
        status = node.get("status") or {}
        cap, alloc = status.get("capacity") or {}, status.get("allocatable") or {}
        rows.append(
            [
                object_link(KINDS["nodes"], name, ""),
                f"{cap.get('cpu', '')} / {alloc.get('cpu', '')}",
                f"{cap.get('memory', '')} / {alloc.get('memory', '')}",
                f"{cap.get('pods', '')} / {alloc.get('pods', '')}",
                *node_usage_cells(node, (metrics or {}).get(name)),
            ]
        )
    usage = table(
        [
            "NAME",
            "CPU cap / alloc",
            "MEMORY cap / alloc",
            "PODS cap / alloc",
            "CPU(cores)",
            "CPU%",
            "MEMORY(bytes)",
            "MEMORY%",
        ],
        rows,
    )
    note = render('<p class="scope">usage unavailable: $e</p>', e=metrics_error) if metrics_error else ""
    return base + render("<h2>Capacity and usage</h2>$note$usage", note=note, usage=usage)
