"""nft transactions that bring the live table from what it holds to a new `Ruleset` (pure).

Two kinds, both applied as one atomic ``nft -f`` transaction on the one table the proxy owns:

- `incremental_script(old, new)`: only the difference. Chains whose rules changed are flushed and
  refilled, new chains added, gone chains deleted; map and set elements are deleted and added one
  by one. A change to one Service touches its own chains (svc-/ext-/ep-) and a few elements, so the
  transaction stays small however many Services exist (as kube-proxy's nftables mode syncs).
- `full_script(new, inventory)`: everything rewritten in place: every chain and static set is
  flushed and refilled, chains and sets the table holds but `new` lacks are deleted. The inventory
  (`TableInventory`, names only, no rules or elements) says what the table holds; it is read from
  the kernel, so a full sync also repairs a table someone else changed. Used at start, after a
  failed apply and periodically.

Both leave ClientIP affinity sets alone when they keep their timeout: they are never flushed, so
the clients' stickiness survives every sync without reading the sets back. An affinity set whose
timeout changed is deleted and recreated (its entries go, as when a Service's affinity changes).

Order inside a transaction, so that nothing is deleted while still referenced and nothing
referenced before it exists: add new chains and map deletions; flush changed and gone chains;
delete and add affinity sets; add rules; add elements; delete gone chains.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kybernetes.proxy.render import (
    MAP_TYPES,
    SET_TYPES,
    Chain,
    Ruleset,
    chain_text,
    elements_text,
    sorted_elements,
)

ELEMENTS_PER_COMMAND = 1000  # keeps single nft lines of a big full sync to a sane length


@dataclass(frozen=True)
class TableInventory:
    """Names in the live table (from `nft -j list chains` / `nft -t -j list sets`)."""

    exists: bool = False
    chains: frozenset[str] = frozenset()
    sets: Mapping[str, int] = field(default_factory=dict)  # set name -> timeout seconds (0: none)


def _add_chain(table: str, name: str, chain: Chain) -> str:
    header = chain[0]
    return f"add chain ip {table} {name} {{ {header} }}" if header else f"add chain ip {table} {name}"


def _affinity_decl(table: str, name: str, timeout: int) -> str:
    return f"add set ip {table} {name} {{ type ipv4_addr; flags dynamic,timeout; timeout {timeout}s; }}"


def _element_cmds(verb: str, table: str, name: str, items: Iterable[str]) -> list[str]:
    items = list(items)
    return [
        f"{verb} element ip {table} {name} {{ {', '.join(items[i : i + ELEMENTS_PER_COMMAND])} }}"
        for i in range(0, len(items), ELEMENTS_PER_COMMAND)
    ]


def _rule_cmds(table: str, name: str, chain: Chain) -> list[str]:
    return [f"add rule ip {table} {name} {rule}" for rule in chain[1]]


def _references(chain: Chain, set_name: str) -> bool:
    needle = f"@{set_name} "
    return any(needle in rule + " " for rule in chain[1])


def incremental_script(old: Ruleset, new: Ruleset, *, table: str) -> str | None:
    """The transaction turning `old` (what the table holds) into `new`: "" when nothing changed,
    None when a change cannot be made in place (a hook chain's declaration) and a full sync must."""
    if set(old.maps) != set(new.maps) or set(old.sets) != set(new.sets):
        return None
    for name in old.chains.keys() & new.chains.keys():
        if old.chains[name][0] != new.chains[name][0]:
            return None
    redeclared = {s for s in old.affinity.keys() & new.affinity.keys() if old.affinity[s] != new.affinity[s]}
    gone_sets = [s for s in old.affinity if s not in new.affinity or s in redeclared]
    new_sets = [s for s in new.affinity if s not in old.affinity or s in redeclared]
    gone = [c for c in old.chains if c not in new.chains]
    added = [c for c in new.chains if c not in old.chains]
    changed = [
        c
        for c in new.chains
        if c in old.chains
        and (old.chains[c] != new.chains[c] or any(_references(old.chains[c], s) for s in redeclared))
    ]

    cmds = [_add_chain(table, c, new.chains[c]) for c in added]
    adds: list[str] = []
    for name in MAP_TYPES:
        before, after = old.maps[name], new.maps[name]
        cmds += _element_cmds("delete", table, name, [k for k, v in before.items() if after.get(k) != v])
        adds += _element_cmds(
            "add", table, name, [f"{k} : {v}" for k, v in after.items() if before.get(k) != v]
        )
    for name in SET_TYPES:
        before_set, after_set = old.sets[name], new.sets[name]
        adds = _element_cmds("delete", table, name, sorted_elements(before_set - after_set)) + adds
        adds += _element_cmds("add", table, name, sorted_elements(after_set - before_set))
    cmds += [f"flush chain ip {table} {c}" for c in (*changed, *gone)]
    cmds += [f"delete set ip {table} {s}" for s in gone_sets]
    cmds += [_affinity_decl(table, s, new.affinity[s]) for s in new_sets]
    for c in (*changed, *added):
        cmds += _rule_cmds(table, c, new.chains[c])
    cmds += adds
    cmds += [f"delete chain ip {table} {c}" for c in gone]
    return "".join(line + "\n" for line in cmds)


def full_script(
    new: Ruleset, inventory: TableInventory, *, table: str, drop_tables: Iterable[str] = ()
) -> str:
    """The transaction that rewrites the whole table in place to `new`, whatever it held (per
    `inventory`); `drop_tables` are deleted in the same transaction (the twin table of earlier
    versions, which swapped between two tables). The content goes in as one ``table { ... }``
    block, which nft parses markedly faster than one command per rule."""
    cmds = [f"add table ip {table}"]
    cmds += [f"add map ip {table} {name} {{ type {decl}; }}" for name, decl in MAP_TYPES.items()]
    cmds += [f"add set ip {table} {name} {{ type {decl}; }}" for name, decl in SET_TYPES.items()]
    cmds += [f"flush map ip {table} {name}" for name in MAP_TYPES]
    cmds += [f"flush set ip {table} {name}" for name in SET_TYPES]
    live_chains = sorted(inventory.chains) if inventory.exists else []
    cmds += [f"flush chain ip {table} {c}" for c in live_chains]
    live_sets = inventory.sets if inventory.exists else {}
    kept = {s for s, timeout in live_sets.items() if new.affinity.get(s) == timeout}
    cmds += [
        f"delete set ip {table} {s}"
        for s in sorted(live_sets)
        if s not in kept and s not in SET_TYPES and s not in MAP_TYPES
    ]
    body = [f"table ip {table} {{", '\tcomment "kybernetes service proxy"']
    body += [
        f"\tset {s} {{\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout {timeout}s\n\t}}"
        for s, timeout in new.affinity.items()
        if s not in kept
    ]
    body += [chain_text(c, chain) for c, chain in new.chains.items()]
    for name in MAP_TYPES:
        items = [f"{k} : {v}" for k, v in new.maps[name].items()]
        if items:
            body.append(f"\tmap {name} {{\n\t\ttype {MAP_TYPES[name]}\n{elements_text(items)}\t}}")
    for name in SET_TYPES:
        if new.sets[name]:
            items = sorted_elements(new.sets[name])
            body.append(f"\tset {name} {{\n\t\ttype {SET_TYPES[name]}\n{elements_text(items)}\t}}")
    body.append("}")
    cmds += body
    cmds += [f"delete chain ip {table} {c}" for c in live_chains if c not in new.chains]
    for other in drop_tables:
        if other != table:
            cmds += [f"add table ip {other}", f"delete table ip {other}"]
    return "".join(line + "\n" for line in cmds)
