"""Resource quantities: parsing, canonical strings, comparison, errors."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from kybernetes.machinery.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    ERR_FORMAT,
    ERR_SUFFIX,
    canonical,
    parse_quantity,
)

CANONICAL = [
    ("zero", "0", "0", DECIMAL_SI),
    ("milli", "100m", "100m", DECIMAL_SI),
    ("half", "0.5", "500m", DECIMAL_SI),
    ("leading-dot", ".5", "500m", DECIMAL_SI),
    ("one-and-half", "1.5", "1500m", DECIMAL_SI),
    ("thousand", "1000", "1k", DECIMAL_SI),
    ("kilo", "1k", "1k", DECIMAL_SI),
    ("exa", "1E", "1E", DECIMAL_SI),
    ("exponent", "1e3", "1e3", DECIMAL_EXPONENT),
    ("exponent-two-digits", "10e3", "10e3", DECIMAL_EXPONENT),
    ("exponent-to-plain", "5e+2", "500", DECIMAL_EXPONENT),
    ("exponent-tiny-rounds-up", "1e-12", "1e-9", DECIMAL_EXPONENT),
    ("gibi", "1Gi", "1Gi", BINARY_SI),
    ("mebi-to-gibi", "1024Mi", "1Gi", BINARY_SI),
    ("mebi-stays", "1000Mi", "1000Mi", BINARY_SI),
    ("fraction-gibi", "1.5Gi", "1536Mi", BINARY_SI),
    ("half-gibi", "0.5Gi", "512Mi", BINARY_SI),
    ("binary-below-1024", "0.5Ki", "512", BINARY_SI),
    ("binary-non-multiple", "1.5Ki", "1536", BINARY_SI),
    ("kibi-to-mebi", "2048Ki", "2Mi", BINARY_SI),
    ("negative-binary", "-2048Ki", "-2Mi", BINARY_SI),
    ("negative-milli", "-100m", "-100m", DECIMAL_SI),
    ("nano-rounds-up", "0.1n", "1n", DECIMAL_SI),
    ("nano-rounds-up-2", "1.5n", "2n", DECIMAL_SI),
    ("nine-decimals", "0.000000001", "1n", DECIMAL_SI),
    ("zeros", "00", "0", DECIMAL_SI),
    ("zero-milli", "0m", "0", DECIMAL_SI),
    ("negative-zero", "-0", "0", DECIMAL_SI),
    ("plus-kept-as-spelled", "+1", "+1", DECIMAL_SI),
    ("large", "12345678901234567890", "12345678901234567890", DECIMAL_SI),
    ("binary-capped", "8Ei", "9223372036854775807", BINARY_SI),
]


@pytest.mark.parametrize(("text", "want", "fmt"), [c[1:] for c in CANONICAL], ids=[c[0] for c in CANONICAL])
def test_canonical(text: str, want: str, fmt: str) -> None:
    q = parse_quantity(text)
    assert str(q) == want
    assert canonical(text) == want
    assert q.format == fmt


ERRORS = [
    ("empty", "", ERR_FORMAT),
    ("letters", "abc", ERR_FORMAT),
    ("two-dots", "1.2.3", ERR_FORMAT),
    ("space", "1 Gi", ERR_FORMAT),
    ("unknown-suffix", "1K", ERR_SUFFIX),
    ("bare-e", "1e", ERR_SUFFIX),
    ("stray-letter", "1Gb", ERR_FORMAT),
    ("suffix-chars-but-unknown", "1Mk", ERR_SUFFIX),
]


@pytest.mark.parametrize(("text", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        parse_quantity(text)


def test_values_and_order() -> None:
    assert parse_quantity("1Gi").value == Fraction(2**30)
    assert parse_quantity("100m").value == Fraction(1, 10)
    assert parse_quantity("1") == parse_quantity("1000m")
    assert parse_quantity("500m") < parse_quantity("1") < parse_quantity("1Ki") < parse_quantity("1.1k")
    assert max(parse_quantity(s) for s in ["1Mi", "1M", "999k"]) == parse_quantity("1Mi")
    assert parse_quantity("1.5").milli_value() == 1500
    assert parse_quantity("1500m").value_int() == 2
    assert parse_quantity("-1.5").value_int() == -2
    assert parse_quantity("0").is_zero()
    assert len({parse_quantity("1"), parse_quantity("1000m")}) == 1
