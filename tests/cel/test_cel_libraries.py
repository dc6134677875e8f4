"""Table for the libraries Kubernetes enables in CRD rules: strings, lists, sets, regex, url,
quantity, ip and cidr."""

from __future__ import annotations

import pytest

from kybernetes import cel

from .cases import Case, Err, case, run

STRINGS = [
    case("'hello'.charAt(4)", "o"),
    case("'hello'.charAt(5)", ""),
    case("'hello'.charAt(-1)", Err("index out of range: -1")),
    case("'hello mellow'.indexOf('')", 0),
    case("'hello mellow'.indexOf('ello', 2)", 7),
    case("'hello mellow'.indexOf('ello', 20)", Err("index out of range: 20")),
    case("'hello mellow'.lastIndexOf('')", 12),
    case("'hello mellow'.lastIndexOf('ello', 6)", 1),
    case("'ÆbÆ'.indexOf('b')", 1, id="indices count code points"),
    case("'TacoCÆt'.lowerAscii()", "tacocÆt"),
    case("'TacoCæt'.upperAscii()", "TACOCæT"),
    case("'hello hello'.replace('he', 'we', 1)", "wello hello"),
    case("'hello hello'.replace('he', 'we', 0)", "hello hello"),
    case("'ab'.replace('', '_')", "_a_b_"),
    case("'a b c'.split(' ')", ["a", "b", "c"]),
    case("'a b c'.split(' ', 0)", []),
    case("'a b c'.split(' ', 2)", ["a", "b c"]),
    case("'tacocat'.substring(4)", "cat"),
    case("'tacocat'.substring(0, 4)", "taco"),
    case("'tacocat'.substring(2, 1)", Err("invalid substring range. start: 2, end: 1")),
    case("'  \\ttrim\\n '.trim()", "trim"),
    case("['a', 'b'].join()", "ab"),
    case("['a', 'b'].join('/')", "a/b"),
    case("strings.quote('say \"hi\"\\n')", '"say \\"hi\\"\\n"'),
    case("'%s has %d items costing %.2f'.format(['cart', 3, 9.5])", "cart has 3 items costing 9.50"),
    case("'%x %X %o %b'.format([255, 255, 8, 5])", "ff FF 10 101"),
    case("'%d'.format(['x'])", Err("decimal clause can only be used on integers")),
    case("'%s %s'.format([1])", Err("out of range")),
]

LISTS = [
    case("[1, 2, 3].isSorted()", True),
    case("['b', 'a'].isSorted()", False),
    case("[1, 3].sum()", 4),
    case("[1.0, 3.0].sum()", 4.0),
    case("[duration('1m'), duration('1s')].sum() == duration('61s')", True),
    case("[3, 1, 2].min()", 1),
    case("[3, 1, 2].max()", 3),
    case("[].min()", Err("min called on empty list")),
    case("[1, 2, 2, 3].indexOf(2)", 1),
    case("['a', 'b', 'b'].lastIndexOf('b')", 2),
    case("[1.0].indexOf(1.1)", -1),
    case("sets.contains([1, 2, 3], [3, 1])", True),
    case("sets.contains([1], [2])", False),
    case("sets.equivalent([1, 2], [2, 1, 1])", True),
    case("sets.intersects([1, 2], [2, 5])", True),
    case("sets.intersects([1], [])", False),
]

REGEX = [
    case("'abc 123'.find('[0-9]+')", "123"),
    case("'abc'.find('[0-9]+')", ""),
    case("'123 abc 456'.findAll('[0-9]+')", ["123", "456"]),
    case("'123 abc 456'.findAll('[0-9]+', 1)", ["123"]),
    case("'ab'.matches('[[:alpha:]]+')", True, id="posix class"),
    case("'ab'.matches('^\\\\pL+$')", True, id="unicode letters"),
    case("'ab'.matches('\\\\p{Greek}')", Err("invalid matches argument", compile=True)),
    case("'\\u0661'.matches('\\\\d')", False, id="digits are ascii as in RE2"),
    case("'É'.matches('(?i)é')", True, id="unicode case folding"),
    case("'a'.matches('a**')", Err("invalid matches argument", compile=True)),
    case("'a'.find(p)", Err("error parsing regexp"), p="a**"),
]

URLS = [
    case("url('https://example.com:80/').getHost()", "example.com:80"),
    case("url('https://example.com/').getScheme()", "https"),
    case("url('https://[::1]:80/').getHostname()", "::1"),
    case("url('https://example.com:80/').getPort()", "80"),
    case("url('https://example.com/').getPort()", ""),
    case("url('/absolute-path').getScheme()", ""),
    case("url('https://example.com/path with spaces/').getEscapedPath()", "/path with spaces/"),
    case("url('https://example.com/p?k=a&k=b&x=%20').getQuery()", {"k": ["a", "b"], "x": [" "]}),
    case("isURL('https://example.com/')", True),
    case("isURL('../relative-path')", False),
    case("isURL('https://example.com:port/')", False),
    case("url('../relative-path')", Err("URL parse error")),
]

QUANTITIES = [
    case("quantity('1') == quantity('1000m')", True),
    case("isQuantity('1.5Gi')", True),
    case("isQuantity('1.5Gx')", False),
    case("quantity('1.5Gx')", Err("quantities must match")),
    case("quantity('50k').sign()", 1),
    case("quantity('-50k').sign()", -1),
    case("quantity('0').sign()", 0),
    case("quantity('500m').isInteger()", False),
    case("quantity('2k').asInteger()", 2000),
    case("quantity('500m').asInteger()", Err("cannot convert value to integer")),
    case("quantity('1.5').asApproximateFloat()", 1.5),
    case("quantity('1Gi').isGreaterThan(quantity('1G'))", True),
    case("quantity('100m').isLessThan(quantity('1'))", True),
    case("quantity('1').compareTo(quantity('1000m'))", 0),
    case("quantity('1').add(quantity('500m')) == quantity('1.5')", True),
    case("quantity('1').add(2) == quantity('3')", True),
    case("quantity('1').sub(quantity('1500m')).sign()", -1),
]

NETWORK = [
    case("ip('192.168.0.1').family()", 4),
    case("ip('2001:db8::1').family()", 6),
    case("isIP('1.2.3.4')", True),
    case("isIP('::ffff:1.2.3.4')", False, id="ipv4-mapped rejected"),
    case("isIP('fe80::1%eth0')", False, id="zones rejected"),
    case("isIP('01.2.3.4')", False, id="leading zeros rejected"),
    case("ip.isCanonical('2001:db8::1')", True),
    case("ip.isCanonical('2001:DB8::1')", False),
    case("ip('127.0.0.1').isLoopback()", True),
    case("ip('0.0.0.0').isUnspecified()", True),
    case("ip('169.254.1.1').isLinkLocalUnicast()", True),
    case("ip('224.0.0.1').isLinkLocalMulticast()", True),
    case("ip('10.0.0.1').isGlobalUnicast()", True),
    case("string(ip('2001:0db8::0001'))", "2001:db8::1"),
    case("ip('1.2.3.4') == ip('1.2.3.4')", True),
    case("cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))", True),
    case("cidr('10.0.0.0/8').containsIP('11.0.0.1')", False),
    case("cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16')", True),
    case("cidr('10.1.0.0/16').containsCIDR(cidr('10.0.0.0/8'))", False),
    case("cidr('10.0.0.1/8').ip() == ip('10.0.0.1')", True),
    case("string(cidr('10.0.0.1/8').masked())", "10.0.0.0/8"),
    case("cidr('10.0.0.0/8').prefixLength()", 8),
    case("isCIDR('10.0.0.0/33')", False),
    case("isCIDR('10.0.0.0')", False),
    case("ip('nope')", Err("parse error")),
]

FORMATS = [
    case("format.dns1123Label().validate('my-name').hasValue()", False),
    case("format.dns1123Label().validate('My_Name').value().size()", 1),
    case(
        "format.named('uuid').value().validate('123e4567-e89b-12d3-a456-426614174000')", cel.Optional(False)
    ),
    case("format.named('nope').hasValue()", False),
    case("format.date().validate('2021-13-01').value()", ["invalid date"]),
    case("format.byte().validate('aGVsbG8=').hasValue()", False),
    case("format.labelValue().validate('a'.substring(0, 1)).hasValue()", False),
    case("format.uri().validate('http://e.com/').orValue(['valid'])", ["valid"]),
    case("format.uri().validate('rel/path').hasValue()", True),
]


@pytest.mark.parametrize("c", STRINGS + LISTS + REGEX + URLS + QUANTITIES + NETWORK + FORMATS)
def test_libraries(c: Case) -> None:
    run(c)
