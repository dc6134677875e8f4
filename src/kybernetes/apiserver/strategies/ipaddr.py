"""IP and CIDR fields the way upstream's validation reads them (Go's "sloppy" parsers).

Upstream accepts IPv4 octets with leading zeros ("010.1.2.3" is 10.1.2.3) in API fields for
compatibility, then warns that such values will become invalid; Python's ``ipaddress`` refuses
them. This module parses like Go's ``ParseIPSloppy`` / ``ParseCIDRSloppy`` and renders the
causes and warnings of upstream 1.32 (field path, message text) for IPs and CIDRs.
"""

from __future__ import annotations

import ipaddress
import re

from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import go_quote, invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

IP_MSG = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_V4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
_LINK_LOCAL_MULTICAST_V4 = ipaddress.ip_network("224.0.0.0/24")


def parse_ip_sloppy(value: str) -> IPAddress | None:
    """The address, or None where Go's ParseIPSloppy would fail (leading zeros allowed in IPv4)."""
    if not isinstance(value, str):
        return None
    m = _V4.fullmatch(value)
    if m:
        octets = [int(g) for g in m.groups()]
        return ipaddress.IPv4Address(bytes(octets)) if all(o <= 255 for o in octets) else None
    if ":" not in value or "%" in value:  # Go refuses zones where Python accepts them
        return None
    try:
        return ipaddress.IPv6Address(value)
    except ValueError:
        return None


def parse_cidr_sloppy(value: str) -> tuple[IPAddress, int] | None:
    """(address, prefix length), or None where Go's ParseCIDRSloppy would fail."""
    if not isinstance(value, str) or "/" not in value:
        return None
    addr_text, _, bits_text = value.rpartition("/")
    addr = parse_ip_sloppy(addr_text)
    if addr is None or not bits_text.isdigit() or len(bits_text) > 3:
        return None
    bits = int(bits_text)
    return (addr, bits) if bits <= addr.max_prefixlen else None


def unmapped(addr: IPAddress) -> IPAddress:
    """Go treats an IPv4-mapped IPv6 address as the IPv4 address it holds."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_valid_ip(path: str, value: str) -> list[Cause]:
    return [] if parse_ip_sloppy(value) is not None else [invalid(path, value, IP_MSG)]


def is_valid_cidr(path: str, value: str) -> list[Cause]:
    return [] if parse_cidr_sloppy(value) is not None else [invalid(path, value, CIDR_MSG)]


def validate_non_special_ip(path: str, value: str) -> list[Cause]:
    """Addresses that make no sense as endpoints or external IPs (upstream's ValidateNonSpecialIP)."""
    addr = parse_ip_sloppy(value)
    if addr is None:
        return [invalid(path, value, "must be a valid IP address")]
    addr = unmapped(addr)
    causes = []
    if addr.is_unspecified:
        causes.append(invalid(path, value, f"may not be unspecified ({value})"))
    if addr.is_loopback:
        causes.append(invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if addr.is_link_local:
        causes.append(invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    if _is_link_local_multicast(addr):
        causes.append(
            invalid(path, value, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
        )
    return causes


def _is_link_local_multicast(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv4Address):
        return addr in _LINK_LOCAL_MULTICAST_V4
    packed = addr.packed
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


def canonical_ip(addr: IPAddress) -> str:
    """RFC 5952 text as Go's netip prints it (an IPv4-mapped address keeps its dotted tail)."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return addr.compressed


def _strict_parse_error(value: str) -> str | None:
    """What Go's netip.ParseAddr says about a value the sloppy parser accepted (None: nothing)."""
    m = _V4.fullmatch(value)
    if m and any(len(g) > 1 and g[0] == "0" for g in m.groups()):
        return f"ParseAddr({go_quote(value)}): IPv4 field has octet with leading zero"
    return None


def ip_warnings(path: str, value: str) -> list[str]:
    """Warnings for an IP that validation accepted but a strict parser would not, or that is not
    in canonical form (upstream 1.32's service warnings)."""
    addr = parse_ip_sloppy(value)
    if addr is None:
        return []
    problem = _strict_parse_error(value)
    if problem is not None:
        return [
            f"{path}: IP address was accepted, but will be invalid in a future Kubernetes release: {problem}"
        ]
    if isinstance(addr, ipaddress.IPv6Address) and canonical_ip(addr) != value:
        return [
            f"{path}: IPv6 address {go_quote(value)} is not in RFC 5952 canonical format "
            f"({go_quote(canonical_ip(addr))}), which may cause controller apply-loops"
        ]
    return []


def cidr_warnings(path: str, value: str) -> list[str]:
    """As ``ip_warnings`` for a CIDR value."""
    parsed = parse_cidr_sloppy(value)
    if parsed is None:
        return []
    addr, bits = parsed
    addr_text, _, bits_text = value.rpartition("/")
    prefix = "IP prefix was accepted, but will be invalid in a future Kubernetes release: "
    problem = _strict_parse_error(addr_text)
    if problem is not None:
        return [f"{path}: {prefix}netip.ParsePrefix({go_quote(value)}): {problem}"]
    if len(bits_text) > 1 and bits_text[0] == "0":
        return [
            f"{path}: {prefix}netip.ParsePrefix({go_quote(value)}): bad bits after slash: {go_quote(bits_text)}"
        ]
    canonical = f"{canonical_ip(addr)}/{bits}"
    if isinstance(addr, ipaddress.IPv6Address) and canonical != value:
        return [
            f"{path}: IPv6 prefix {go_quote(value)} is not in RFC 5952 canonical format "
            f"({go_quote(canonical)}), which may cause controller apply-loops"
        ]
    return []
