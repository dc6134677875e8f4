"""CEL types as the checker sees them.

A type is a name plus parameters (``list(int)``, ``map(string, dyn)``, ``optional_type(int)``);
``str()`` spells it the way cel-go prints types in its error messages. ``ObjectType`` stands for
a Kubernetes schema object with known properties: selecting an unknown property is a compile
error. ``DYN`` switches checking off below that point; the evaluator then decides at runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Type:
    name: str
    params: tuple[Type, ...] = ()
    # The largest size() a value of this declaration can have (characters of a string, items
    # of a list, entries of a map), for static cost estimation; None when nothing bounds it.
    # It is not part of the type: list(string) with and without a bound are the same type.
    max_size: int | None = field(default=None, compare=False, hash=False)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}({', '.join(str(p) for p in self.params)})"


@dataclass(frozen=True, slots=True)
class TypeParam(Type):
    """A type variable in an overload signature (``A`` in ``list(A).size()``)."""


@dataclass(frozen=True, slots=True, eq=False)
class ObjectType(Type):
    """An object with declared fields; compared by name (schemas give each object its own)."""

    fields: Mapping[str, Type] = field(default_factory=dict)

    def __init__(self, name: str, fields: Mapping[str, Type], *, max_size: int | None = None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", ())
        object.__setattr__(self, "max_size", max_size)
        object.__setattr__(self, "fields", fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectType) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("object", self.name))


DYN = Type("dyn")
INT = Type("int")
UINT = Type("uint")
DOUBLE = Type("double")
STRING = Type("string")
BOOL = Type("bool")
BYTES = Type("bytes")
NULL = Type("null_type")
DURATION = Type("google.protobuf.Duration")
TIMESTAMP = Type("google.protobuf.Timestamp")
ERROR = Type("*error*")
# Kubernetes library types.
QUANTITY = Type("kubernetes.Quantity")
URL = Type("kubernetes.URL")
IP = Type("net.IP")
CIDR = Type("net.CIDR")
# The type of an empty literal ([], {}, optional.none()) until something pins it down: it fits
# any type, where an explicit dyn only fits dyn in list and map literals.
FREE = TypeParam("_")
# x-kubernetes-int-or-string has no CEL type of its own; upstream declares it dyn.
IntOrStringType = DYN


def ListType(elem: Type, *, max_items: int | None = None) -> Type:
    """``list(elem)``; `max_items` bounds its size for cost estimation (schema maxItems)."""
    return Type("list", (elem,), max_items)


def MapType(key: Type, value: Type, *, max_properties: int | None = None) -> Type:
    """``map(key, value)``; `max_properties` bounds its size for cost estimation."""
    return Type("map", (key, value), max_properties)


def sized(typ: Type, max_size: int | None) -> Type:
    """`typ` declared with a size bound: ``sized(STRING, 64)`` is a string of at most 64
    characters (what maxLength gives a schema string), for cost estimation only."""
    if isinstance(typ, ObjectType):
        return ObjectType(typ.name, typ.fields, max_size=max_size)
    return Type(typ.name, typ.params, max_size)


def OptionalType(inner: Type) -> Type:
    return Type("optional_type", (inner,))


def TypeType(inner: Type | None = None) -> Type:
    return Type("type", (inner,) if inner is not None else ())


def format_type(t: Type) -> str:
    """A type as cel-go's checker messages spell it (null_type is "null" there)."""
    if t.name == "null_type":
        return "null"
    if not t.params or isinstance(t, ObjectType):
        return t.name
    return f"{t.name}({', '.join(format_type(p) for p in t.params)})"


def is_dyn(t: Type) -> bool:
    return t.name == "dyn" or t.name == "*error*" or isinstance(t, TypeParam)


SCALARS = {t.name: t for t in (INT, UINT, DOUBLE, STRING, BOOL, BYTES, NULL, DURATION, TIMESTAMP)}
