"""Addresses the `kyb server` components listen on, read from `host:port` environment knobs.

Why: the ingress proxy (KYB_INGRESS_HTTP/HTTPS), the dashboard (KYB_DASHBOARD_LISTEN) and cluster
DNS (KYB_DNS_LISTEN, KYB_DNS_HTTP) each take a listen address from the environment. One parser
means every knob reads the same syntax, is switched off with the same words and refuses a bad
value with the same kind of message, which the component prints instead of starting.

Accepted forms: ``1.2.3.4:80``, ``[::1]:80``, ``:80`` (the component's default host), ``1.2.3.4``
and ``::1`` (the default port, where the knob has one). ``off``, ``none``, ``false`` and ``-``
switch a listener off where that is allowed.
"""

from __future__ import annotations

import socket

HostPort = tuple[str, int]

OFF = frozenset({"off", "none", "false", "-"})


def parse_hostport(text: str, *, default_host: str = "", default_port: int | None = None) -> HostPort:
    """``host:port`` as (host, port); ValueError when the port is missing (without a default) or bad.

    A bare IPv6 address (more than one colon, no brackets) is a host without a port.
    """
    text = text.strip()
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"not host:port: {text!r}")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, None
    if port_text is None:
        if default_port is None:
            raise ValueError(f"not host:port (no port): {text!r}")
        port = default_port
    else:
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"not host:port (bad port): {text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"not host:port (port out of range): {text!r}")
    return host or default_host, port


def parse_listen(
    knob: str, value: str, *, default_host: str, default_port: int | None = None
) -> HostPort | None:
    """The listen address an environment knob names, or None when it says ``off``.

    ValueError names the knob, so a component can print it and stay out rather than crash-loop.
    """
    if value.strip().lower() in OFF:
        return None
    try:
        return parse_hostport(value, default_host=default_host, default_port=default_port)
    except ValueError:
        raise ValueError(f"{knob}: want host:port or off, not {value.strip()!r}") from None


def primary_address() -> str:
    """The address of the default route's interface (connecting a UDP socket sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"
