"""Tokenizer for CEL source text (cel-spec langdef.md, "Syntax").

Tokens carry their code-point offset so that every later error can point at the source.
String and bytes literals are decoded here (escapes, raw and triple-quoted forms), so the
parser only sees finished values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kybernetes.cel.errors import Issue

RESERVED = frozenset(
    [
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ]
)
# Longest first so that "<=" wins over "<".
_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", ".", ",",
              "[", "]", "{", "}", "(", ")")  # fmt: skip
_IDENT_START = frozenset("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789")
# Words that lex as literals or the `in` operator; with RESERVED, no identifier may be one of them.
KEYWORDS = frozenset({"true", "false", "null", "in"})
NOT_IDENTIFIERS = KEYWORDS | RESERVED


def is_identifier(name: str) -> bool:
    """Whether `name` can stand as a CEL identifier, e.g. a policy variable's name."""
    return (
        bool(name)
        and name[0] in _IDENT_START
        and all(c in _IDENT_CHARS for c in name)
        and name not in NOT_IDENTIFIERS
    )


_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "int", "uint", "double", "string", "bytes", "ident", "op", "eof"
    text: str
    offset: int
    value: Any = None


class LexError(Exception):
    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def tokenize(src: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch in " \t\n\r\f":
            i += 1
            continue
        if src.startswith("//", i):
            end = src.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if ch in _DIGITS or (ch == "." and i + 1 < n and src[i + 1] in _DIGITS and _number_may_start(tokens)):
            tok, i = _number(src, i)
            tokens.append(tok)
            continue
        if ch in _IDENT_START:
            j = i + 1
            while j < n and src[j] in _IDENT_CHARS:
                j += 1
            word = src[i:j]
            if j < n and src[j] in "'\"" and word.lower() in ("r", "b", "rb", "br"):
                tok, i = _string(src, i, j, word.lower())
                tokens.append(tok)
                continue
            tokens.append(Token("ident", word, i))
            i = j
            continue
        if ch in "'\"":
            tok, i = _string(src, i, i, "")
            tokens.append(tok)
            continue
        if ch == "`":
            end = src.find("`", i + 1)
            if end < 0:
                raise LexError(Issue(i, "Syntax error: token recognition error at: '`'"))
            tokens.append(Token("quoted_ident", src[i + 1 : end], i))
            i = end + 1
            continue
        for op in _OPERATORS:
            if src.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            raise LexError(Issue(i, f"Syntax error: token recognition error at: '{ch}'"))
    tokens.append(Token("eof", "", n))
    return tokens


def _number_may_start(tokens: list[Token]) -> bool:
    # ".5" is a double, but in "a.5" or "x[0].5" the dot belongs to a selection.
    if not tokens:
        return True
    last = tokens[-1]
    return not (last.kind in ("ident", "quoted_ident") or last.text in (")", "]", "}"))


def _number(src: str, i: int) -> tuple[Token, int]:
    n = len(src)
    start = i
    if src.startswith(("0x", "0X"), i):
        j = i + 2
        while j < n and src[j] in _HEX:
            j += 1
        if j == i + 2:
            raise LexError(Issue(i, "Syntax error: token recognition error at: '0x'"))
        value = int(src[i + 2 : j], 16)
        return _int_token(src, start, j, value)
    j = i
    while j < n and src[j] in _DIGITS:
        j += 1
    is_double = False
    if j < n and src[j] == "." and j + 1 < n and src[j + 1] in _DIGITS:
        is_double = True
        j += 1
        while j < n and src[j] in _DIGITS:
            j += 1
    if j < n and src[j] in "eE":
        k = j + 1
        if k < n and src[k] in "+-":
            k += 1
        if k < n and src[k] in _DIGITS:
            is_double = True
            j = k
            while j < n and src[j] in _DIGITS:
                j += 1
    if is_double:
        text = src[start:j]
        return Token("double", text, start, float(text)), j
    return _int_token(src, start, j, int(src[start:j]))


def _int_token(src: str, start: int, j: int, value: int) -> tuple[Token, int]:
    if j < len(src) and src[j] in "uU":
        return Token("uint", src[start : j + 1], start, value), j + 1
    return Token("int", src[start:j], start, value), j


def _string(src: str, start: int, quote_at: int, prefix: str) -> tuple[Token, int]:
    raw = "r" in prefix
    is_bytes = "b" in prefix
    q = src[quote_at]
    triple = src.startswith(q * 3, quote_at)
    delim = q * 3 if triple else q
    i = quote_at + len(delim)
    n = len(src)
    out: list[str] = []
    out_bytes = bytearray()
    while True:
        if i >= n:
            raise LexError(Issue(start, f"Syntax error: token recognition error at: '{src[start:]}'"))
        if src.startswith(delim, i):
            i += len(delim)
            break
        ch = src[i]
        if not triple and ch in "\r\n":
            raise LexError(Issue(start, f"Syntax error: token recognition error at: '{src[start:i]}'"))
        if ch == "\\" and not raw:
            piece, i = _escape(src, i, is_bytes, start)
            if isinstance(piece, bytes):
                out_bytes.extend(piece)
            else:
                out.append(piece)
                if is_bytes:
                    out_bytes.extend(piece.encode("utf-8"))
            continue
        out.append(ch)
        if is_bytes:
            out_bytes.extend(ch.encode("utf-8"))
        i += 1
    text = src[start:i]
    if is_bytes:
        return Token("bytes", text, start, bytes(out_bytes)), i
    return Token("string", text, start, "".join(out)), i


def _escape(src: str, i: int, is_bytes: bool, start: int) -> tuple[str | bytes, int]:
    n = len(src)
    if i + 1 >= n:
        raise LexError(Issue(start, "Syntax error: token recognition error at: '\\'"))
    c = src[i + 1]
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], i + 2
    width = {"x": 2, "X": 2, "u": 4, "U": 8}.get(c)
    if width is not None:
        if is_bytes and c in "uU":
            raise LexError(Issue(i, "Syntax error: unicode escape in bytes literal"))
        digits = src[i + 2 : i + 2 + width]
        if len(digits) != width or not all(d in _HEX for d in digits):
            raise LexError(Issue(i, f"Syntax error: invalid escape sequence: \\{c}"))
        code = int(digits, 16)
        if is_bytes:
            return bytes([code]), i + 2 + width
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise LexError(Issue(i, "Syntax error: invalid unicode code point"))
        return chr(code), i + 2 + width
    if c in _OCT:
        digits = src[i + 1 : i + 4]
        if len(digits) != 3 or not all(d in _OCT for d in digits) or int(digits, 8) > 0o377:
            raise LexError(Issue(i, "Syntax error: invalid octal escape"))
        code = int(digits, 8)
        return (bytes([code]) if is_bytes else chr(code)), i + 4
    raise LexError(Issue(i, f"Syntax error: invalid escape sequence: \\{c}"))
