"""Resource quantities (``100m``, ``1Gi``, ``1e3``, ``0.5``) as upstream's resource.Quantity.

Objects keep quantities as strings; the server canonicalises them on write (``0.5`` is stored
and returned as ``500m``, ``1024Mi`` as ``1Gi``) and components compare them. Values are held
exactly (a Fraction), rounded up in magnitude to a multiple of 10^-9 as upstream does, so that
asking for a tiny amount still asks for something.

Canonical strings follow upstream's Quantity.String():
  * the suffix family is the one the input used: decimal SI (n u m "" k M G T P E), binary SI
    (Ki .. Ei) or a decimal exponent (e3);
  * decimal forms use the largest suffix that keeps an integer mantissa with no trailing
    zeros at a multiple-of-three exponent (1500m, 1k, 10e3);
  * binary forms fall back to decimal SI when the value is below 1024 in magnitude or not
    an integer (0.5Gi → 512Mi, 1.5Ki → 1536, 512Ki stays);
  * where upstream keeps the caller's spelling because it is already canonical, so do we
    (including a leading ``+``).
Out of range exponents for decimal SI (beyond E) are written in exponent form; upstream
prints no suffix there.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction

ERR_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_DEC_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_BY_EXP = {v: k for k, v in _DEC_SUFFIXES.items()}
_BIN_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BIN_BY_EXP = {v: k for k, v in _BIN_SUFFIXES.items()}
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")
_NANO = 10**9
_INT64_MAX = 2**63 - 1
_MAX_INT64_FACTORS = 18


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class Quantity:
    value: Fraction
    format: str = DECIMAL_SI
    # The caller's spelling, kept when upstream would keep it (it is already canonical).
    spelled: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.spelled is not None:
            return self.spelled
        return _canonical(self.value, self.format)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def value_int(self) -> int:
        """The value as an integer, rounded away from zero (upstream Value())."""
        return _round_away(self.value)

    def milli_value(self) -> int:
        """The value in thousandths, rounded away from zero (upstream MilliValue())."""
        return _round_away(self.value * 1000)

    def is_zero(self) -> bool:
        return self.value == 0


def _round_away(x: Fraction) -> int:
    return math.ceil(x) if x >= 0 else -math.ceil(-x)


def _scan(s: str) -> tuple[bool, str, str, str]:
    """(positive, numerator digits, denominator digits, suffix), as upstream's scanner."""
    positive, pos, end = True, 0, len(s)
    if pos < end and s[0] in "+-":
        positive = s[0] == "+"
        pos = 1
    while pos < end and s[pos] == "0":
        pos += 1
    if pos >= end:
        return positive, "0", "", ""
    start = pos
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    num = s[start:pos] or "0"
    if pos >= end:
        return positive, num, "", ""
    denom = ""
    if s[pos] == ".":
        pos += 1
        start = pos
        while pos < end and s[pos] in _DIGITS:
            pos += 1
        denom = s[start:pos]
        if pos >= end:
            return positive, num, denom, ""
    suffix_start = pos
    while pos < end and s[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and s[pos] in "+-":
        pos += 1
    while pos < end and s[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise ValueError(ERR_FORMAT)
    return positive, num, denom, s[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix."""
    if suffix in _DEC_SUFFIXES:
        return 10, _DEC_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BIN_SUFFIXES:
        return 2, _BIN_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        rest = suffix[1:]
        body = rest[1:] if rest[:1] in ("+", "-") else rest
        if body and all(c in _DIGITS for c in body):
            return 10, int(rest), DECIMAL_EXPONENT
    raise ValueError(ERR_SUFFIX)


def parse_quantity(s: str) -> Quantity:
    """Parse a quantity string; ValueError with upstream's message when it is not one."""
    if not s:
        raise ValueError(ERR_FORMAT)
    if s == "0":
        return Quantity(Fraction(0), DECIMAL_SI, "0")
    positive, num, denom, suffix = _scan(s)
    base, exponent, fmt = _interpret(suffix)

    digits = int(num + denom)
    magnitude = Fraction(digits, 10 ** len(denom))
    magnitude *= Fraction(10) ** exponent if base == 10 else 2**exponent
    spelled = s if _kept_as_spelled(num, denom, base, exponent, fmt, digits) else None

    if magnitude and (magnitude * _NANO).denominator != 1:
        magnitude = Fraction(math.ceil(magnitude * _NANO), _NANO)
    if fmt == BINARY_SI and magnitude > _INT64_MAX:
        magnitude = Fraction(_INT64_MAX)
    if fmt == BINARY_SI and 0 < magnitude < 1:
        fmt = DECIMAL_SI
    return Quantity(magnitude if positive else -magnitude, fmt, spelled)


def _kept_as_spelled(num: str, denom: str, base: int, exponent: int, fmt: str, digits: int) -> bool:
    """Upstream's fast path keeps the input string when it is small and already canonical."""
    mantissa = 1
    if fmt == BINARY_SI:
        scale = 0
        if exponent >= 0 and not denom:
            mantissa = 1 << exponent
            precision = 15 - len(num) - int(exponent * 3 / 10) - 1
        else:
            precision = -1
    else:
        scale = exponent
        precision = _MAX_INT64_FACTORS - (len(num) + len(denom))
    if precision < 0:
        return False
    scale -= len(denom)
    if scale < -9:
        return False
    shifted = num + denom
    if abs(digits * mantissa) > _INT64_MAX:
        return False
    if fmt == BINARY_SI:
        return exponent % 10 == 0 and digits & 0x07 != 0
    return scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"


def _canonical(value: Fraction, fmt: str) -> str:
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mag = -value if value < 0 else value
    if fmt == BINARY_SI and (mag < 1024 or mag.denominator != 1):
        fmt = DECIMAL_SI
    if fmt == BINARY_SI:
        n, e = int(mag), 0
        while n % 1024 == 0:
            n //= 1024
            e += 10
        return f"{sign}{n}{_BIN_BY_EXP.get(e, '')}"
    # Decimal: integer mantissa, no trailing zeros, then down to a multiple-of-3 exponent.
    exp = 0
    while mag.denominator != 1:
        mag *= 10
        exp -= 1
    n = int(mag)
    while n % 10 == 0:
        n //= 10
        exp += 1
    while exp % 3 != 0:
        n *= 10
        exp -= 1
    if fmt == DECIMAL_SI and exp in _DEC_BY_EXP:
        return f"{sign}{n}{_DEC_BY_EXP[exp]}"
    return f"{sign}{n}" + (f"e{exp}" if exp else "")


def canonical(s: str) -> str:
    """The canonical spelling of quantity string `s` (ValueError when invalid)."""
    return str(parse_quantity(s))
