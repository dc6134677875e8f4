"""Session cookies, CSRF tokens and response headers of the dashboard.

Why: the dashboard holds a bearer token on the user's behalf, so another site must neither read
it nor make the browser act with it. Theory of operation:

1. The token lives only in an HttpOnly, SameSite=Strict cookie: scripts cannot read it and
   cross-site requests do not carry it.
2. Every visitor gets a random nonce cookie (HttpOnly, SameSite=Strict). Each form carries
   HMAC(process secret, nonce); a POST is accepted only when the field matches the cookie's HMAC
   and, when the browser sends an Origin header, the origin is the dashboard's own.
3. In admin mode (no token at all) only requests addressed to an IP address or ``localhost`` are
   served, so a web page cannot reach the dashboard through a DNS name rebound to 127.0.0.1.
4. Pages forbid inline script, framing and referrers (Content-Security-Policy and friends), so
   even a rendering bug is not a script injection.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets

TOKEN_COOKIE = "kyb_dashboard_token"
USER_COOKIE = "kyb_dashboard_user"
NONCE_COOKIE = "kyb_dashboard_csrf"
MAX_TOKEN_LENGTH = 3500  # cookies beyond ~4 KiB are dropped by browsers
# JWTs and static tokens are base64url/base64 text with dots (bootstrap tokens: "id.secret").
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, nonce: str, submitted: str) -> bool:
    return bool(nonce) and hmac.compare_digest(csrf_token(secret, nonce), submitted)


def origin_ok(origin: str | None, *, scheme: str, host: str) -> bool:
    """A POST's Origin (when sent) must be the dashboard itself; "null" (sandboxed, privacy
    redirects) is refused."""
    if origin is None:
        return True
    return origin == f"{scheme}://{host}"


def clean_token(text: str) -> str | None:
    """The pasted token without surrounding blanks, or None when it cannot be a bearer token."""
    token = text.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token or len(token) > MAX_TOKEN_LENGTH or not _TOKEN_CHARS.fullmatch(token):
        return None
    return token


def host_is_address(host: str) -> bool:
    """Whether a Host header names an IP address or localhost (not a DNS name that could have
    been rebound to this machine)."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
