"""A small interpreter of the nft commands sync.py writes, over a `Ruleset`: it lets hypothesis
check thousands of incremental transactions without a kernel, and it is strict where the kernel
is (deleting a chain or set that a rule or map element still refers to, adding what exists,
deleting what does not), so an ordering mistake fails here too."""

from __future__ import annotations

import copy
import re

from kybernetes.proxy.render import MAP_TYPES, Ruleset

CHAIN_REF = re.compile(r"(?:goto|jump) ([^\s,}]+)")
SET_REF = re.compile(r"@(\S+)")


class SimError(AssertionError):
    pass


def _elements(text: str) -> list[str]:
    inner = text[text.index("{") + 1 : text.rindex("}")]
    return [e.strip() for e in inner.split(",") if e.strip()]


def _referenced_chains(rs: Ruleset) -> set[str]:
    refs = {m for _, rules in rs.chains.values() for r in rules for m in CHAIN_REF.findall(r)}
    return refs | {m for elems in rs.maps.values() for v in elems.values() for m in CHAIN_REF.findall(v)}


def _referenced_sets(rs: Ruleset) -> set[str]:
    return {m for _, rules in rs.chains.values() for r in rules for m in SET_REF.findall(r)}


def apply_script(before: Ruleset, script: str, table: str) -> Ruleset:
    """The ruleset after `script` (one command per line, as `incremental_script` writes them)."""
    rs = copy.deepcopy(before)
    sets = {k: set(v) for k, v in rs.sets.items()}
    prefix = f" ip {table} "
    for line in script.splitlines():
        verb, _, rest = line.partition(prefix)
        name, _, arg = rest.partition(" ")
        if verb == "add chain":
            if name in rs.chains:
                raise SimError(f"chain exists: {line}")
            rs.chains[name] = (arg.strip("{} ").strip(), ())
        elif verb == "flush chain":
            rs.chains[name] = (rs.chains[name][0], ())
        elif verb == "add rule":
            header, rules = rs.chains[name]
            rs.chains[name] = (header, (*rules, arg))
        elif verb == "delete chain":
            if rs.chains[name][1] or name in _referenced_chains(rs):
                raise SimError(f"chain in use: {line}")
            del rs.chains[name]
        elif verb == "add set":
            if name in rs.affinity:
                raise SimError(f"set exists: {line}")
            rs.affinity[name] = int(re.findall(r"timeout (\d+)s", arg)[0])
        elif verb == "delete set":
            if name in _referenced_sets(rs):
                raise SimError(f"set in use: {line}")
            del rs.affinity[name]
        elif verb in ("add element", "delete element"):
            for item in _elements(arg):
                if name in MAP_TYPES:
                    key, _, value = item.partition(" : ")
                    if verb == "add element":
                        if key in rs.maps[name]:
                            raise SimError(f"element exists: {line}")
                        rs.maps[name][key] = value
                    else:
                        del rs.maps[name][key]
                elif verb == "add element":
                    if item in sets[name]:
                        raise SimError(f"element exists: {line}")
                    sets[name].add(item)
                else:
                    sets[name].remove(item)
        else:
            raise SimError(f"unknown command: {line}")
    rs.sets = {k: frozenset(v) for k, v in sets.items()}
    missing = _referenced_chains(rs) - set(rs.chains)
    missing_sets = _referenced_sets(rs) - set(rs.affinity) - set(rs.sets) - set(rs.maps)
    if missing or missing_sets:
        raise SimError(f"dangling references: {missing | missing_sets}")
    return rs
