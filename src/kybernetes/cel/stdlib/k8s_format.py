"""Kubernetes' format library (1.31+): named string formats that rules and message expressions
can validate against, e.g. ``format.dns1123Label().validate(self.name)`` which is
``optional.none()`` when the value is valid and the list of problems otherwise.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Callable
from typing import Any

from kybernetes.cel import timeutil
from kybernetes.cel import types as t
from kybernetes.cel.errors import EvalError
from kybernetes.cel.stdlib import define
from kybernetes.cel.stdlib.k8s_misc import parse_url
from kybernetes.cel.values import NONE, NoSuchOverload, Optional
from kybernetes.machinery import validation as v

FORMAT = t.Type("kubernetes.NamedFormat")
_UUID = re.compile(r"(?i)^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$")


class Format:
    __slots__ = ("check", "name")
    cel_type = FORMAT

    def __init__(self, name: str, check: Callable[[str], list[str]]) -> None:
        self.name = name
        self.check = check

    def __repr__(self) -> str:
        return f"format.{self.name}()"


def _uri(s: str) -> list[str]:
    try:
        parse_url(s)
    except EvalError as e:
        return [str(e).removeprefix("URL parse error during conversion from string: ")]
    return []


def _byte(s: str) -> list[str]:
    try:
        base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return ["invalid base64"]
    return []


def _date(s: str) -> list[str]:
    try:
        if len(s) != 10:
            raise ValueError(s)
        datetime.date.fromisoformat(s)
    except ValueError:
        return ["invalid date"]
    return []


def _datetime(s: str) -> list[str]:
    try:
        timeutil.parse_timestamp(s)
    except EvalError:
        return ["invalid datetime"]
    return []


FORMATS = {
    "dns1123Label": lambda s: v.name_is_dns_label(s, False),
    "dns1123Subdomain": lambda s: v.name_is_dns_subdomain(s, False),
    "dns1035Label": lambda s: v.name_is_dns1035_label(s, False),
    "qualifiedName": v.is_qualified_name,
    "dns1123LabelPrefix": lambda s: v.name_is_dns_label(s, True),
    "dns1123SubdomainPrefix": lambda s: v.name_is_dns_subdomain(s, True),
    "dns1035LabelPrefix": lambda s: v.name_is_dns1035_label(s, True),
    "labelValue": v.is_valid_label_value,
    "uri": _uri,
    "uuid": lambda s: [] if _UUID.match(s) else ["does not match the UUID format"],
    "byte": _byte,
    "date": _date,
    "datetime": _datetime,
}
_INSTANCES = {name: Format(name, check) for name, check in FORMATS.items()}


def named(*args: Any) -> Optional:
    if len(args) != 1 or type(args[0]) is not str:
        raise NoSuchOverload("format.named", *args)
    found = _INSTANCES.get(args[0])
    return NONE if found is None else Optional(True, found)


def validate(*args: Any) -> Optional:
    if len(args) != 2 or type(args[0]) is not Format or type(args[1]) is not str:
        raise NoSuchOverload("validate", *args)
    problems = list(args[0].check(args[1]))
    return Optional(True, problems) if problems else NONE


def _constant(instance: Format) -> Callable[[], Format]:
    return lambda: instance


define("format.named", named, "format.named(string) -> optional_type(kubernetes.NamedFormat)")
define("validate", validate, "<kubernetes.NamedFormat>.validate(string) -> optional_type(list(string))")
for _name, _instance in _INSTANCES.items():
    define(f"format.{_name}", _constant(_instance), f"format.{_name}() -> kubernetes.NamedFormat")
