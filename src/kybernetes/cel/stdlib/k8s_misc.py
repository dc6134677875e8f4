"""Kubernetes CEL libraries for URLs, quantities, IP addresses and CIDRs.

Each adds an opaque type (kubernetes.URL, kubernetes.Quantity, net.IP, net.CIDR) built with a
conversion function (``url()``, ``quantity()``, ``ip()``, ``cidr()``), a validity test
(``isURL()``...) and accessors. Parsing follows what upstream delegates to: Go's
url.ParseRequestURI, resource.Quantity (our machinery.quantity), and netip with Kubernetes'
restrictions (no zones, no IPv4-mapped IPv6).
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from kybernetes.cel import types as t
from kybernetes.cel.errors import EvalError
from kybernetes.cel.stdlib import define
from kybernetes.cel.stdlib.core import to_string
from kybernetes.cel.values import NoSuchOverload
from kybernetes.machinery.quantity import Quantity as MachineQuantity
from kybernetes.machinery.quantity import parse_quantity


def _need(name: str, args: tuple[Any, ...], *kinds: type) -> None:
    if len(args) != len(kinds) or any(type(a) is not k for a, k in zip(args, kinds, strict=True)):
        raise NoSuchOverload(name, *args)


def _typed(name: str, fn: Callable[..., Any], *kinds: type) -> Callable[..., Any]:
    """`fn` behind a runtime type check of its arguments."""

    def impl(*args: Any) -> Any:
        _need(name, args, *kinds)
        return fn(*args)

    return impl


# -- URL --------------------------------------------------------------------------------------
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class URL:
    raw: str
    scheme: str
    host: str
    path: str
    query: str

    cel_type = t.URL


def parse_url(s: str) -> URL:
    """Go's url.ParseRequestURI: an absolute URI or an absolute path; no relative references."""

    def fail(reason: str) -> EvalError:
        return EvalError(f"URL parse error during conversion from string: parse {s!r}: {reason}")

    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        raise fail("net/url: invalid control character in URL")
    rest, _, query = s.partition("?")
    scheme = ""
    m = _SCHEME.match(rest)
    if m is not None:
        scheme = m.group(0)[:-1].lower()
        rest = rest[m.end() :]
    elif rest.startswith(":") or (":" in rest.split("/", 1)[0] and not rest.startswith("/")):
        raise fail("missing protocol scheme")
    host = ""
    if scheme and not rest.startswith("/"):
        return URL(s, scheme, "", "", query)  # opaque, e.g. mailto:someone
    if not scheme and not rest.startswith("/"):
        raise fail("invalid URI for request")
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        host = authority.rpartition("@")[2]
        _check_host(host, fail)
    if _BAD_ESCAPE.search(rest) or _BAD_ESCAPE.search(query):
        raise fail("invalid URL escape")
    return URL(s, scheme, host, rest, query)


def _check_host(host: str, fail: Any) -> None:
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise fail("missing ']' in host")
        port = host[end + 1 :]
        if port and (not port.startswith(":") or (not port[1:].isdigit() and port != ":")):
            raise fail(f"invalid port {port!r} after host")
        return
    name, colon, port = host.rpartition(":") if ":" in host else (host, "", "")
    if colon and port and not port.isdigit():
        raise fail(f"invalid port {':' + port!r} after host")
    if any(c in ' <>"{}|\\^`' for c in name):
        raise fail(f"invalid character {name!r} in host name")


def _hostname(u: URL) -> str:
    host = u.host
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rpartition(":")[0] if ":" in host else host


def _port(u: URL) -> str:
    host = u.host
    if host.startswith("["):
        host = host[host.find("]") + 1 :]
    return host.rpartition(":")[2] if ":" in host else ""


def url(*args: Any) -> URL:
    _need("url", args, str)
    return parse_url(args[0])


def is_url(*args: Any) -> bool:
    _need("isURL", args, str)
    try:
        parse_url(args[0])
    except EvalError:
        return False
    return True


def _url_accessor(name: str, fn: Any, result: str) -> None:
    def access(*args: Any) -> Any:
        _need(name, args, URL)
        return fn(args[0])

    define(name, access, f"<URL>.{name}() -> {result}")


def _query(u: URL) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in u.query.split("&"):
        if not part or ";" in part:
            continue
        key, _, value = part.partition("=")
        try:
            k = urllib.parse.unquote_plus(key, errors="strict")
            v = urllib.parse.unquote_plus(value, errors="strict")
        except UnicodeDecodeError:
            continue
        out.setdefault(k, []).append(v)
    return out


define("url", url, "url(string) -> URL")
define("isURL", is_url, "isURL(string) -> bool")
_url_accessor("getScheme", lambda u: u.scheme, "string")
_url_accessor("getHost", lambda u: u.host, "string")
_url_accessor("getHostname", _hostname, "string")
_url_accessor("getPort", _port, "string")
_url_accessor("getEscapedPath", lambda u: u.path, "string")
_url_accessor("getQuery", _query, "map(string, list(string))")


# -- Quantity ---------------------------------------------------------------------------------
class Quantity:
    """A resource quantity as a CEL value; equal when the amounts are equal (1 == 1000m)."""

    __slots__ = ("q",)
    cel_type = t.QUANTITY

    def __init__(self, q: MachineQuantity) -> None:
        self.q = q

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.q.value == other.q.value

    def __hash__(self) -> int:
        return hash(self.q.value)

    def __repr__(self) -> str:
        return f"quantity({str(self.q)!r})"


def quantity(*args: Any) -> Quantity:
    _need("quantity", args, str)
    try:
        return Quantity(parse_quantity(args[0]))
    except ValueError as e:
        raise EvalError(str(e)) from None


def is_quantity(*args: Any) -> bool:
    _need("isQuantity", args, str)
    try:
        parse_quantity(args[0])
    except ValueError:
        return False
    return True


def _q(name: str, args: tuple[Any, ...]) -> Fraction:
    if not args or type(args[0]) is not Quantity:
        raise NoSuchOverload(name, *args)
    return args[0].q.value


def _operand(name: str, args: tuple[Any, ...]) -> Fraction:
    if len(args) != 2:
        raise NoSuchOverload(name, *args)
    other = args[1]
    if type(other) is Quantity:
        return other.q.value
    if type(other) is int:
        return Fraction(other)
    raise NoSuchOverload(name, *args)


def _in_int64(v: Fraction) -> bool:
    return v.denominator == 1 and -(2**63) <= v <= 2**63 - 1


def _new(base: Quantity, value: Fraction) -> Quantity:
    return Quantity(MachineQuantity(value, base.q.format))


define("quantity", quantity, "quantity(string) -> Quantity")
define("isQuantity", is_quantity, "isQuantity(string) -> bool")
define("sign", lambda *a: (_q("sign", a) > 0) - (_q("sign", a) < 0), "<Quantity>.sign() -> int")
define("isInteger", lambda *a: _in_int64(_q("isInteger", a)), "<Quantity>.isInteger() -> bool")


def as_integer(*args: Any) -> int:
    v = _q("asInteger", args)
    if not _in_int64(v):
        raise EvalError("cannot convert value to integer")
    return int(v)


define("asInteger", as_integer, "<Quantity>.asInteger() -> int")
define(
    "asApproximateFloat",
    lambda *a: float(_q("asApproximateFloat", a)),
    "<Quantity>.asApproximateFloat() -> double",
)
define("add", lambda *a: _new(a[0], _q("add", a) + _operand("add", a)), "<Quantity>.add(Quantity) -> Quantity",
       "<Quantity>.add(int) -> Quantity")  # fmt: skip
define("sub", lambda *a: _new(a[0], _q("sub", a) - _operand("sub", a)), "<Quantity>.sub(Quantity) -> Quantity",
       "<Quantity>.sub(int) -> Quantity")  # fmt: skip


def _cmp(name: str, args: tuple[Any, ...]) -> int:
    if len(args) != 2 or type(args[1]) is not Quantity:
        raise NoSuchOverload(name, *args)
    a, b = _q(name, args), args[1].q.value
    return (a > b) - (a < b)


define("compareTo", lambda *a: _cmp("compareTo", a), "<Quantity>.compareTo(Quantity) -> int")
define("isLessThan", lambda *a: _cmp("isLessThan", a) < 0, "<Quantity>.isLessThan(Quantity) -> bool")
define("isGreaterThan", lambda *a: _cmp("isGreaterThan", a) > 0, "<Quantity>.isGreaterThan(Quantity) -> bool")


# -- IP and CIDR ------------------------------------------------------------------------------
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class IP:
    __slots__ = ("addr",)
    cel_type = t.IP

    def __init__(self, addr: IPAddress) -> None:
        self.addr = addr

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IP) and self.addr == other.addr

    def __hash__(self) -> int:
        return hash(self.addr)

    def cel_string(self) -> str:
        return str(self.addr)

    def __repr__(self) -> str:
        return f"ip({str(self.addr)!r})"


class CIDR:
    __slots__ = ("iface",)
    cel_type = t.CIDR

    def __init__(self, iface: ipaddress.IPv4Interface | ipaddress.IPv6Interface) -> None:
        self.iface = iface

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CIDR) and self.iface == other.iface

    def __hash__(self) -> int:
        return hash(self.iface)

    def cel_string(self) -> str:
        return str(self.iface)

    def __repr__(self) -> str:
        return f"cidr({str(self.iface)!r})"


def parse_ip(s: str) -> IPAddress:
    if "%" in s:
        raise EvalError(f"IP Address {s!r} parse error during conversion from string: zones are not allowed")
    try:
        addr = ipaddress.ip_address(s)
    except ValueError as e:
        raise EvalError(f"IP Address {s!r} parse error during conversion from string: {e}") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        raise EvalError(f"IP Address {s!r} parse error during conversion from string: "
                        "IPv4-mapped IPv6 addresses are not allowed")  # fmt: skip
    return addr


def parse_cidr(s: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    addr, slash, bits = s.partition("/")
    if not slash or not bits.isdigit() or (len(bits) > 1 and bits[0] == "0"):
        raise EvalError(f"network address {s!r} parse error during conversion from string: invalid prefix")
    parse_ip(addr)
    try:
        return ipaddress.ip_interface(s)
    except ValueError as e:
        raise EvalError(f"network address {s!r} parse error during conversion from string: {e}") from None


def _valid(fn: Any, s: str) -> bool:
    try:
        fn(s)
    except EvalError:
        return False
    return True


def ip(*args: Any) -> IP:
    _need("ip", args, str)
    return IP(parse_ip(args[0]))


def cidr(*args: Any) -> CIDR:
    _need("cidr", args, str)
    return CIDR(parse_cidr(args[0]))


def _is_global_unicast(a: IPAddress) -> bool:
    if a.is_unspecified or a.is_loopback or a.is_multicast or a.is_link_local:
        return False
    return not (isinstance(a, ipaddress.IPv4Address) and a == ipaddress.IPv4Address("255.255.255.255"))


def _is_link_local_multicast(a: IPAddress) -> bool:
    if isinstance(a, ipaddress.IPv4Address):
        return a in ipaddress.IPv4Network("224.0.0.0/24")
    return a.packed[0] == 0xFF and a.packed[1] & 0x0F == 0x02


define("ip", ip, "ip(string) -> IP")
define("isIP", _typed("isIP", lambda s: _valid(parse_ip, s), str), "isIP(string) -> bool")
define("ip.isCanonical", _typed("ip.isCanonical", lambda s: str(parse_ip(s)) == s, str),
       "ip.isCanonical(string) -> bool")  # fmt: skip
define("cidr", cidr, "cidr(string) -> CIDR")
define("isCIDR", _typed("isCIDR", lambda s: _valid(parse_cidr, s), str), "isCIDR(string) -> bool")
define("string", to_string, "string(IP) -> string", "string(CIDR) -> string")


def _ip_accessor(name: str, fn: Any, result: str = "bool") -> None:
    def access(*args: Any) -> Any:
        _need(name, args, IP)
        return fn(args[0].addr)

    define(name, access, f"<IP>.{name}() -> {result}")


_ip_accessor("family", lambda a: a.version, "int")
_ip_accessor("isUnspecified", lambda a: a.is_unspecified)
_ip_accessor("isLoopback", lambda a: a.is_loopback)
_ip_accessor("isLinkLocalMulticast", _is_link_local_multicast)
_ip_accessor("isLinkLocalUnicast", lambda a: a.is_link_local and not a.is_multicast)
_ip_accessor("isGlobalUnicast", _is_global_unicast)


def contains_ip(*args: Any) -> bool:
    if len(args) != 2 or type(args[0]) is not CIDR or type(args[1]) not in (IP, str):
        raise NoSuchOverload("containsIP", *args)
    other = args[1].addr if type(args[1]) is IP else parse_ip(args[1])
    return other.version == args[0].iface.version and other in args[0].iface.network


def contains_cidr(*args: Any) -> bool:
    if len(args) != 2 or type(args[0]) is not CIDR or type(args[1]) not in (CIDR, str):
        raise NoSuchOverload("containsCIDR", *args)
    other = args[1].iface if type(args[1]) is CIDR else parse_cidr(args[1])
    mine = args[0].iface.network
    return other.version == mine.version and other.network.subnet_of(mine)  # type: ignore[arg-type]


define("containsIP", contains_ip, "<CIDR>.containsIP(IP) -> bool", "<CIDR>.containsIP(string) -> bool")
define(
    "containsCIDR", contains_cidr, "<CIDR>.containsCIDR(CIDR) -> bool", "<CIDR>.containsCIDR(string) -> bool"
)
define("ip", _typed("ip", lambda c: IP(c.iface.ip), CIDR), "<CIDR>.ip() -> IP")
define("masked", _typed("masked", lambda c: CIDR(ipaddress.ip_interface(c.iface.network)), CIDR),
       "<CIDR>.masked() -> CIDR")  # fmt: skip
define("prefixLength", _typed("prefixLength", lambda c: c.iface.network.prefixlen, CIDR),
       "<CIDR>.prefixLength() -> int")  # fmt: skip
