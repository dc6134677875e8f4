"""Caching of forwarded DNS answers: how long an answer may be reused, and a bounded store.

Why a module of its own: the TTL rules are easy to get subtly wrong (RFC 2308 negative caching),
so they are pure functions with table tests, apart from sockets.

Rules:
1. A positive answer (NOERROR with answer records) lives for the smallest TTL among its answer
   records, at most `max_ttl`; a TTL of 0 means "do not cache".
2. A negative answer (NXDOMAIN, or NOERROR without answers = NODATA) lives for
   min(SOA record TTL, SOA minimum) from the authority section, at most `negative_ttl`; without an
   SOA it is not cached (nothing says how long the name's absence holds).
3. SERVFAIL, REFUSED and other errors are never cached: the next query asks again.
4. A reused answer carries TTLs reduced by the time it spent in the cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from dnslib import QTYPE, RR, DNSHeader, DNSRecord  # type: ignore[import-untyped]

MAX_TTL = 3600

CacheKey = tuple[str, int, int]  # (lowercase qname, qtype, qclass)


def cache_ttl(reply: DNSRecord, *, negative_ttl: int, max_ttl: int = MAX_TTL) -> int:
    """Seconds `reply` may be reused (0: not at all)."""
    rcode = reply.header.rcode
    if rcode == 0 and reply.rr:
        return max(0, min(min(int(rr.ttl) for rr in reply.rr), max_ttl))
    if rcode in (0, 3):
        soas = [rr for rr in reply.auth if rr.rtype == QTYPE.SOA]
        if not soas:
            return 0
        soa = soas[0]
        minimum = int(soa.rdata.times[4])
        return max(0, min(int(soa.ttl), minimum, negative_ttl))
    return 0


def key_of(request: DNSRecord) -> CacheKey:
    q = request.q
    return (str(q.qname).lower(), int(q.qtype), int(q.qclass))


def aged(rrs: list[RR], elapsed: int) -> list[RR]:
    return [RR(rr.rname, rr.rtype, rr.rclass, rr.ttl if rr.rtype == QTYPE.OPT else max(0, rr.ttl - elapsed),
               rr.rdata) for rr in rrs]


@dataclass(slots=True)
class _Entry:
    reply: DNSRecord
    stored: float
    expires: float


class AnswerCache:
    """Forwarded answers by question, least recently stored dropped first when full."""

    def __init__(self, size: int, *, negative_ttl: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.negative_ttl = negative_ttl
        self.clock = clock
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, key: CacheKey, reply: DNSRecord) -> int:
        """Store `reply` if it may be cached; returns its lifetime in seconds (0 = not stored)."""
        ttl = cache_ttl(reply, negative_ttl=self.negative_ttl)
        if ttl <= 0 or self.size <= 0:
            return 0
        now = self.clock()
        self._entries[key] = _Entry(reply, now, now + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return ttl

    def get(self, key: CacheKey) -> tuple[DNSRecord, float] | None:
        """A copy of the cached reply with aged TTLs, and the seconds it stays valid; None on a miss."""
        entry = self._entries.get(key)
        now = self.clock()
        if entry is None or entry.expires <= now:
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self.hits += 1
        elapsed = int(now - entry.stored)
        old = entry.reply
        copy = DNSRecord(DNSHeader(id=old.header.id, bitmap=old.header.bitmap), q=old.q, rr=aged(old.rr, elapsed), auth=aged(old.auth, elapsed),
                         ar=aged(old.ar, elapsed))
        return copy, entry.expires - now
