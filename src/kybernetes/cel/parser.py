"""Recursive-descent parser for CEL (cel-spec langdef.md grammar), with macro expansion.

Binary operators are parsed by precedence climbing; the tree uses cel-go's operator function
names. Macros (has, all, exists, exists_one, map, filter, the two-variable comprehensions of
Kubernetes 1.32, and optMap/optFlatMap) become ``Comprehension`` or test-only ``Select`` nodes
here, as cel-go expands them at parse time. Nesting is bounded (cel-go's default of 250) so a
hostile expression yields a CompileError and never a Python RecursionError.
"""

from __future__ import annotations

from kybernetes.cel import ast
from kybernetes.cel.errors import CompileError, Issue
from kybernetes.cel.lexer import RESERVED, LexError, Token, tokenize
from kybernetes.cel.values import INT64_MAX, INT64_MIN, UINT64_MAX, Uint

MAX_RECURSION_DEPTH = 250

_BINARY = {
    "||": (1, "_||_"),
    "&&": (2, "_&&_"),
    "==": (3, "_==_"),
    "!=": (3, "_!=_"),
    "<": (3, "_<_"),
    "<=": (3, "_<=_"),
    ">": (3, "_>_"),
    ">=": (3, "_>=_"),
    "in": (3, "@in"),
    "+": (4, "_+_"),
    "-": (4, "_-_"),
    "*": (5, "_*_"),
    "/": (5, "_/_"),
    "%": (5, "_%_"),
}
# receiver-style macros: name -> accepted argument counts
_RECEIVER_MACROS = {
    "all": (2, 3),
    "exists": (2, 3),
    "exists_one": (2, 3),
    "existsOne": (2, 3),
    "map": (2, 3),
    "filter": (2,),
    "transformList": (3, 4),
    "transformMap": (3, 4),
    "transformMapEntry": (3, 4),
}
_OPTIONAL_MACROS = {"optMap": 2, "optFlatMap": 2}
_LEXER_KEYWORDS = frozenset({"in", "true", "false", "null"})


class _SyntaxError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.issue = Issue(offset, message)


def parse(source: str, *, optionals: bool = True) -> ast.Expr:
    """Parse `source` into a tree; CompileError listing the syntax problem otherwise."""
    try:
        tokens = tokenize(source)
    except LexError as e:
        raise CompileError(source, [e.issue]) from None
    parser = _Parser(tokens, optionals)
    try:
        tree = parser.expr()
        tok = parser.peek()
        if tok.kind != "eof":
            raise parser.unexpected(tok, "<EOF>")
        depth, deepest = ast.height(tree, MAX_RECURSION_DEPTH)
        if depth > MAX_RECURSION_DEPTH:
            raise _SyntaxError(deepest.offset, f"expression recursion limit exceeded: {MAX_RECURSION_DEPTH}")
    except _SyntaxError as e:
        raise CompileError(source, [e.issue]) from None
    return tree


def _describe(tok: Token) -> str:
    return "<EOF>" if tok.kind == "eof" else tok.text


class _Parser:
    def __init__(self, tokens: list[Token], optionals: bool) -> None:
        self.tokens = tokens
        self.pos = 0
        self.optionals = optionals
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def at(self, text: str) -> bool:
        tok = self.tokens[self.pos]
        return tok.kind == "op" and tok.text == text

    def expect(self, text: str) -> Token:
        tok = self.peek()
        if tok.kind != "op" or tok.text != text:
            raise self.unexpected(tok, f"'{text}'")
        return self.next()

    def unexpected(self, tok: Token, wanted: str) -> _SyntaxError:
        return _SyntaxError(
            tok.offset, f"Syntax error: mismatched input '{_describe(tok)}' expecting {wanted}"
        )

    def enter(self, offset: int) -> None:
        self.depth += 1
        if self.depth > MAX_RECURSION_DEPTH:
            raise _SyntaxError(offset, f"expression recursion limit exceeded: {MAX_RECURSION_DEPTH}")

    # -- grammar ---------------------------------------------------------------------------
    def expr(self) -> ast.Expr:
        self.enter(self.peek().offset)
        cond = self.binary(1)
        if self.at("?"):
            q = self.next()
            then = self.binary(1)
            self.expect(":")
            otherwise = self.expr()
            cond = ast.Call(q.offset, "_?_:_", [cond, then, otherwise])
        self.depth -= 1
        return cond

    def binary(self, min_prec: int) -> ast.Expr:
        left = self.unary()
        while True:
            tok = self.peek()
            key = tok.text if tok.kind == "op" or (tok.kind == "ident" and tok.text == "in") else None
            spec = _BINARY.get(key) if key is not None else None
            if spec is None or spec[0] < min_prec:
                return left
            if spec[1] in ("_&&_", "_||_"):
                left = self.logical_chain(left, spec[0], spec[1])
                continue
            self.next()
            self.enter(tok.offset)
            right = self.binary(spec[0] + 1)
            self.depth -= 1
            left = ast.Call(tok.offset, spec[1], [left, right])

    def logical_chain(self, first: ast.Expr, prec: int, function: str) -> ast.Expr:
        """a && b && c ... as a balanced tree (as cel-go does), so long rule chains stay shallow."""
        operands = [first]
        offsets: list[int] = []
        text = "&&" if function == "_&&_" else "||"
        while self.at(text):
            offsets.append(self.next().offset)
            self.enter(offsets[-1])
            operands.append(self.binary(prec + 1))
            self.depth -= 1
        return _balance(operands, offsets, function)

    def unary(self) -> ast.Expr:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("!", "-"):
            ops: list[Token] = []
            while self.at(tok.text):
                ops.append(self.next())
            if tok.text == "-" and self.peek().kind in ("int", "double"):
                # The grammar gives numeric literals an optional sign, which is how
                # -9223372036854775808 is representable.
                sign = ops.pop()
                operand = self.member(self.literal(negative=True, sign_offset=sign.offset))
            else:
                operand = self.member(self.primary())
            fn = "!_" if tok.text == "!" else "-_"
            for op in reversed(ops):
                operand = ast.Call(op.offset, fn, [operand])
            return operand
        return self.member(self.primary())

    def member(self, operand: ast.Expr) -> ast.Expr:
        while True:
            tok = self.peek()
            if tok.kind != "op":
                return operand
            if tok.text == ".":
                self.next()
                optional = False
                if self.at("?"):
                    q = self.next()
                    if not self.optionals:
                        raise _SyntaxError(q.offset, "unsupported syntax '.?'")
                    optional = True
                name_tok = self.next()
                if name_tok.kind not in ("ident", "quoted_ident"):
                    raise self.unexpected(name_tok, "IDENTIFIER")
                name = name_tok.text
                # Reserved words are only barred as variables: cel-go accepts them as field and
                # method names (the authorizer's .namespace()); its lexer keywords it does not.
                if name_tok.kind == "ident" and name in _LEXER_KEYWORDS:
                    raise _SyntaxError(name_tok.offset, f"reserved identifier: {name}")
                if not optional and name_tok.kind == "ident" and self.at("("):
                    open_tok = self.next()
                    args = self.args(")")
                    operand = self.receiver_call(open_tok.offset, tok.offset, operand, name, args)
                else:
                    operand = ast.Select(tok.offset, operand, name, optional=optional)
            elif tok.text == "[":
                self.next()
                fn = "_[_]"
                if self.at("?"):
                    q = self.next()
                    if not self.optionals:
                        raise _SyntaxError(q.offset, "unsupported syntax '[?'")
                    fn = "_[?_]"
                index = self.expr()
                self.expect("]")
                operand = ast.Call(tok.offset, fn, [operand, index])
            else:
                return operand

    def primary(self) -> ast.Expr:
        tok = self.peek()
        if tok.kind == "ident" or (tok.kind == "op" and tok.text == "."):
            return self.identifier()
        if tok.kind == "op":
            if tok.text == "(":
                self.next()
                inner = self.expr()
                self.expect(")")
                return inner
            if tok.text == "[":
                return self.list_literal()
            if tok.text == "{":
                return self.map_literal()
            raise self.unexpected(tok, "an expression")
        return self.literal(negative=False, sign_offset=tok.offset)

    def identifier(self) -> ast.Expr:
        lead = self.next()
        tok = lead if lead.kind == "ident" else self.next()
        if tok.kind != "ident":
            raise self.unexpected(tok, "IDENTIFIER")
        name = tok.text
        if name in ("true", "false"):
            return ast.Literal(tok.offset, name == "true")
        if name == "null":
            return ast.Literal(tok.offset, None)
        if name in RESERVED or name == "in":
            raise _SyntaxError(tok.offset, f"reserved identifier: {name}")
        if self.at("("):
            open_tok = self.next()
            args = self.args(")")
            return self.global_call(open_tok.offset, tok.offset, name, args)
        if self.at("{"):
            return self.struct_literal(tok.offset, name)
        return ast.Ident(tok.offset, name)

    def args(self, closing: str) -> list[ast.Expr]:
        args: list[ast.Expr] = []
        if self.at(closing):
            self.next()
            return args
        while True:
            args.append(self.expr())
            if self.at(","):
                self.next()
                continue
            self.expect(closing)
            return args

    def list_literal(self) -> ast.Expr:
        open_tok = self.next()
        self.enter(open_tok.offset)
        elements: list[ast.Expr] = []
        optional: set[int] = set()
        while not self.at("]"):
            if self.at("?"):
                q = self.next()
                if not self.optionals:
                    raise _SyntaxError(q.offset, "unsupported syntax '?'")
                optional.add(len(elements))
            elements.append(self.expr())
            if not self.at(","):
                break
            self.next()
        self.expect("]")
        self.depth -= 1
        return ast.ListExpr(open_tok.offset, elements, frozenset(optional))

    def map_literal(self) -> ast.Expr:
        open_tok = self.next()
        self.enter(open_tok.offset)
        entries: list[ast.MapEntry] = []
        while not self.at("}"):
            optional = False
            if self.at("?"):
                q = self.next()
                if not self.optionals:
                    raise _SyntaxError(q.offset, "unsupported syntax '?'")
                optional = True
            key = self.expr()
            colon = self.expect(":")
            value = self.expr()
            entries.append(ast.MapEntry(colon.offset, key, value, optional))
            if not self.at(","):
                break
            self.next()
        self.expect("}")
        self.depth -= 1
        return ast.MapExpr(open_tok.offset, entries)

    def struct_literal(self, offset: int, name: str) -> ast.Expr:
        self.next()
        self.enter(offset)
        fields: list[ast.MapEntry] = []
        while not self.at("}"):
            field_tok = self.next()
            if field_tok.kind != "ident":
                raise self.unexpected(field_tok, "IDENTIFIER")
            colon = self.expect(":")
            value = self.expr()
            fields.append(ast.MapEntry(colon.offset, ast.Literal(field_tok.offset, field_tok.text), value))
            if not self.at(","):
                break
            self.next()
        self.expect("}")
        self.depth -= 1
        return ast.StructExpr(offset, name, fields)

    def literal(self, *, negative: bool, sign_offset: int) -> ast.Expr:
        tok = self.next()
        offset = sign_offset if negative else tok.offset
        if tok.kind == "int":
            value = -tok.value if negative else tok.value
            if not INT64_MIN <= value <= INT64_MAX:
                raise _SyntaxError(offset, "invalid int literal")
            return ast.Literal(offset, value)
        if tok.kind == "uint":
            if tok.value > UINT64_MAX:
                raise _SyntaxError(offset, "invalid uint literal")
            return ast.Literal(offset, Uint(tok.value))
        if tok.kind == "double":
            return ast.Literal(offset, -tok.value if negative else tok.value)
        if tok.kind in ("string", "bytes"):
            return ast.Literal(offset, tok.value)
        raise self.unexpected(tok, "an expression")

    # -- calls and macros ------------------------------------------------------------------
    def global_call(self, open_offset: int, name_offset: int, name: str, args: list[ast.Expr]) -> ast.Expr:
        if name == "has" and len(args) == 1:
            arg = args[0]
            if not isinstance(arg, ast.Select) or arg.optional:
                raise _SyntaxError(arg.offset, "invalid argument to has() macro")
            return ast.Select(arg.offset, arg.operand, arg.field, test_only=True)
        return ast.Call(open_offset, name, args)

    def receiver_call(
        self, open_offset: int, dot_offset: int, target: ast.Expr, name: str, args: list[ast.Expr]
    ) -> ast.Expr:
        counts = _RECEIVER_MACROS.get(name)
        if counts is not None and len(args) in counts:
            return self.comprehension(open_offset, target, name, args)
        if self.optionals and _OPTIONAL_MACROS.get(name) == len(args):
            var = self.simple_name(args[0])
            return ast.Comprehension(open_offset, name, target, var, None, [args[1]])
        return ast.Call(open_offset, name, args, target)

    def simple_name(self, arg: ast.Expr) -> str:
        if not isinstance(arg, ast.Ident):
            raise _SyntaxError(arg.offset, "argument must be a simple name")
        return arg.name

    def comprehension(self, offset: int, target: ast.Expr, name: str, args: list[ast.Expr]) -> ast.Expr:
        two_var = name.startswith("transform") or (name in ("all", "exists", "exists_one", "existsOne")
                                                   and len(args) == 3)  # fmt: skip
        if name == "existsOne":
            name = "exists_one"
        var = self.simple_name(args[0])
        var2 = None
        rest = args[1:]
        if two_var:
            var2 = self.simple_name(args[1])
            rest = args[2:]
            if var == var2:
                raise _SyntaxError(args[1].offset, f"duplicate variable name: {var}")
        for reserved in ("__result__", "@result"):
            if reserved in (var, var2):
                raise _SyntaxError(
                    args[0].offset, f"iteration variable overwrites accumulator variable: {reserved}"
                )
        return ast.Comprehension(offset, name, target, var, var2, rest)


def _balance(operands: list[ast.Expr], offsets: list[int], function: str) -> ast.Expr:
    if len(operands) == 1:
        return operands[0]
    mid = len(operands) // 2
    left = _balance(operands[:mid], offsets[: mid - 1], function)
    right = _balance(operands[mid:], offsets[mid:], function)
    return ast.Call(offsets[mid - 1], function, [left, right])
