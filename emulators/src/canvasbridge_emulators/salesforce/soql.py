"""A SOQL subset: parser, schema check and evaluator.

Supported::

    SELECT Id, Name, Programme__r.LMS_Course_Id__c, A__r.B__r.C   (parent paths, any depth)
    SELECT COUNT()
    FROM <one object>
    WHERE  = != <> < <= > >=  LIKE  IN (...)  NOT IN (...)
           AND / OR / NOT, parentheses (AND and OR never mixed without parentheses, as in SOQL)
           'strings' with backslash escapes, numbers, true/false, null,
           2024-05-01, 2024-05-01T13:00:00Z (or ±hh:mm),
           TODAY YESTERDAY TOMORROW THIS_/LAST_/NEXT_ WEEK|MONTH|YEAR, LAST_N_DAYS:n NEXT_N_DAYS:n
    ORDER BY path [ASC|DESC] [NULLS FIRST|LAST], ...
    LIMIT n  OFFSET n

Keywords and names are case-insensitive. Anything else (sub-queries, aggregates other than
``COUNT()``, GROUP BY, TYPEOF, WITH, FOR UPDATE, ``\\u`` escapes, mixed AND/OR, a date literal
against a dateTime field…) raises :class:`SoqlError` with ``MALFORMED_QUERY`` (or
``INVALID_FIELD`` / ``INVALID_TYPE`` for names the schema lacks), never a guessed answer.

Semantics kept from Salesforce: ``!=`` and ``NOT IN`` match nulls; string ``=``, ``IN`` and
``LIKE`` ignore case; a relative date literal is a range (``=`` inside, ``<`` before its start,
``>`` after its end); a null parent gives a null value.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from canvasbridge_emulators.salesforce.schema import (
    NUMBER_TYPES,
    STRING_TYPES,
    FieldDef,
    ObjectDef,
    Schema,
    normalize_id,
    render,
)

MAX_OFFSET = 2000


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def malformed(message: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", message)


# ---------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
   |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))(?![\w.:])
   |(?P<date>\d{4}-\d{2}-\d{2})(?![\w.:])
   |(?P<number>[+-]?(?:\d+(?:\.\d+)?|\.\d+))(?![\w.])
   |(?P<quote>')
   |(?P<op>!=|<>|<=|>=|=|<|>)
   |(?P<punct>[(),:])
   |(?P<ident>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)
    """,
    re.X,
)

_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}

UNSUPPORTED_KEYWORDS = frozenset(
    {
        "GROUP",
        "HAVING",
        "WITH",
        "USING",
        "FOR",
        "TYPEOF",
        "INCLUDES",
        "EXCLUDES",
        "FIELDS",
        "ROLLUP",
        "CUBE",
        "FORMAT",
        "TOLABEL",
        "CONVERTCURRENCY",
        "SELECT",
    }
)


@dataclass(frozen=True)
class Tok:
    kind: str  # ident, string, number, date, datetime, op, punct, end
    text: str
    pos: int
    value: Any = None

    def kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i = 0
    n = len(text)
    while i < n:
        m = _TOKEN_RE.match(text, i)
        if not m:
            raise malformed(f"unexpected character {text[i]!r} at column {i + 1}")
        kind = m.lastgroup or ""
        if kind == "ws":
            i = m.end()
            continue
        if kind == "quote":
            chars, i = _read_string(text, i + 1)
            toks.append(Tok("string", text[m.start() : i], m.start(), chars))
            continue
        toks.append(Tok(kind, m.group(), m.start()))
        i = m.end()
    toks.append(Tok("end", "", n))
    return toks


def _read_string(text: str, i: int) -> tuple[tuple[tuple[str, bool], ...], int]:
    """Characters of a quoted literal; the bool marks an escaped LIKE wildcard (``\\_``, ``\\%``)."""

    out: list[tuple[str, bool]] = []
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return tuple(out), i + 1
        if ch == "\\":
            if i + 1 >= len(text):
                break
            esc = text[i + 1]
            if esc in ("_", "%"):
                out.append((esc, True))
            elif esc in "nNrRtTbBfF":
                out.append((_SIMPLE_ESCAPES[esc.lower()], False))
            elif esc in "\"'\\":
                out.append((esc, False))
            else:
                raise malformed(f"invalid escape sequence '\\{esc}' in string literal")
            i += 2
            continue
        out.append((ch, False))
        i += 1
    raise malformed("unterminated string literal")


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class StrLit:
    chars: tuple[tuple[str, bool], ...]

    def plain(self) -> str:
        if any(esc for _c, esc in self.chars):
            raise malformed("'\\_' and '\\%' escapes are only allowed in LIKE patterns")
        return "".join(c for c, _e in self.chars)

    def like_regex(self) -> re.Pattern[str]:
        parts = []
        for c, esc in self.chars:
            if esc:
                parts.append(re.escape(c))
            elif c == "%":
                parts.append(".*")
            elif c == "_":
                parts.append(".")
            else:
                parts.append(re.escape(c))
        return re.compile("".join(parts), re.I | re.S)


@dataclass(frozen=True)
class NumLit:
    value: float


@dataclass(frozen=True)
class BoolLit:
    value: bool


@dataclass(frozen=True)
class NullLit:
    pass


@dataclass(frozen=True)
class DateLit:
    value: dt.date


@dataclass(frozen=True)
class DateTimeLit:
    value: dt.datetime


@dataclass(frozen=True)
class RelDate:
    name: str
    n: int | None = None


Literal = StrLit | NumLit | BoolLit | NullLit | DateLit | DateTimeLit | RelDate


@dataclass(frozen=True)
class Cond:
    path: tuple[str, ...]
    op: str  # = != < <= > >= LIKE IN NOT IN
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND OR
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Cond | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    path: tuple[str, ...]
    desc: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[tuple[str, ...], ...]
    count: bool
    sobject: str
    where: Expr | None
    order: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


RELATIVE_SIMPLE = frozenset(
    {
        "TODAY",
        "YESTERDAY",
        "TOMORROW",
        "THIS_WEEK",
        "LAST_WEEK",
        "NEXT_WEEK",
        "THIS_MONTH",
        "LAST_MONTH",
        "NEXT_MONTH",
        "THIS_YEAR",
        "LAST_YEAR",
        "NEXT_YEAR",
    }
)
RELATIVE_N = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS"})


# ---------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def advance(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect_kw(self, word: str) -> None:
        if not self.tok.kw(word):
            raise self.unexpected(f"expected {word}")
        self.advance()

    def expect_punct(self, ch: str) -> None:
        if self.tok.kind != "punct" or self.tok.text != ch:
            raise self.unexpected(f"expected '{ch}'")
        self.advance()

    def unexpected(self, hint: str = "") -> SoqlError:
        tok = self.tok
        what = "end of query" if tok.kind == "end" else f"token: '{tok.text}'"
        return malformed(f"unexpected {what} at column {tok.pos + 1}" + (f" ({hint})" if hint else ""))

    def check_unsupported(self) -> None:
        if self.tok.kw(*UNSUPPORTED_KEYWORDS):
            raise malformed(f"'{self.tok.text}' is outside the SOQL subset this emulator supports")

    def parse(self) -> Query:
        self.expect_kw("SELECT")
        fields: list[tuple[str, ...]] = []
        count = False
        if self.tok.kw("COUNT") and self.toks[self.i + 1].text == "(":
            self.advance()
            self.expect_punct("(")
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise malformed("only COUNT() is supported; COUNT(field) is an aggregate query")
            self.advance()
            count = True
        else:
            while True:
                fields.append(self.path())
                if self.tok.kind == "punct" and self.tok.text == ",":
                    self.advance()
                    continue
                break
        self.expect_kw("FROM")
        if self.tok.kind != "ident" or "." in self.tok.text:
            raise self.unexpected("expected an object name")
        sobject = self.advance().text
        if self.tok.kind == "ident" and not self.tok.kw(
            "WHERE", "ORDER", "LIMIT", "OFFSET", *UNSUPPORTED_KEYWORDS
        ):
            raise malformed("object aliases are outside the supported SOQL subset")
        where = None
        if self.tok.kw("WHERE"):
            self.advance()
            where = self.expr()
        self.check_unsupported()
        order: list[OrderItem] = []
        if self.tok.kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            while True:
                path = self.path()
                desc = False
                if self.tok.kw("ASC", "DESC"):
                    desc = self.advance().text.upper() == "DESC"
                nulls_first = not desc
                if self.tok.kw("NULLS"):
                    self.advance()
                    if not self.tok.kw("FIRST", "LAST"):
                        raise self.unexpected("expected FIRST or LAST")
                    nulls_first = self.advance().text.upper() == "FIRST"
                order.append(OrderItem(path, desc, nulls_first))
                if self.tok.kind == "punct" and self.tok.text == ",":
                    self.advance()
                    continue
                break
        self.check_unsupported()
        limit = offset = None
        if self.tok.kw("LIMIT"):
            self.advance()
            limit = self.integer()
        if self.tok.kw("OFFSET"):
            self.advance()
            offset = self.integer()
            if offset > MAX_OFFSET:
                raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        self.check_unsupported()
        if self.tok.kind != "end":
            raise self.unexpected()
        if count and order:
            raise malformed("ORDER BY is not allowed with COUNT()")
        return Query(tuple(fields), count, sobject, where, tuple(order), limit, offset)

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not re.fullmatch(r"\d+", tok.text):
            raise self.unexpected("expected a non-negative integer")
        self.advance()
        return int(tok.text)

    def path(self) -> tuple[str, ...]:
        self.check_unsupported()
        tok = self.tok
        if tok.kind != "ident":
            raise self.unexpected("expected a field name")
        if self.toks[self.i + 1].kind == "punct" and self.toks[self.i + 1].text == "(":
            raise malformed(f"function '{tok.text}(...)' is outside the supported SOQL subset")
        if tok.kw("FROM", "WHERE", "AND", "OR", "NOT", "LIKE", "IN", "ORDER", "BY", "LIMIT", "OFFSET"):
            raise self.unexpected("expected a field name")
        self.advance()
        return tuple(tok.text.split("."))

    # WHERE: a sequence joined by only AND or only OR, as SOQL demands.
    def expr(self) -> Expr:
        first = self.unary()
        if not self.tok.kw("AND", "OR"):
            return first
        op = self.tok.text.upper()
        items = [first]
        while self.tok.kw("AND", "OR"):
            if self.tok.text.upper() != op:
                raise malformed("mixing AND and OR needs parentheses")
            self.advance()
            items.append(self.unary())
        return BoolOp(op, tuple(items))

    def unary(self) -> Expr:
        self.check_unsupported()
        if self.tok.kw("NOT"):
            self.advance()
            return Not(self.unary())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.advance()
            inner = self.expr()
            self.expect_punct(")")
            return inner
        return self.condition()

    def condition(self) -> Cond:
        path = self.path()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            op = "!=" if tok.text == "<>" else tok.text
            return Cond(path, op, self.literal())
        if tok.kw("LIKE"):
            self.advance()
            value = self.literal()
            if not isinstance(value, StrLit):
                raise malformed("LIKE needs a quoted string")
            return Cond(path, "LIKE", value)
        if tok.kw("IN") or (tok.kw("NOT") and self.toks[self.i + 1].kw("IN")):
            op = "IN"
            if tok.kw("NOT"):
                self.advance()
                op = "NOT IN"
            self.advance()
            self.expect_punct("(")
            if self.tok.kw("SELECT"):
                raise malformed("semi-join sub-queries are outside the supported SOQL subset")
            values = [self.literal()]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                values.append(self.literal())
            self.expect_punct(")")
            return Cond(path, op, tuple(values))
        raise self.unexpected("expected an operator")

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return StrLit(tok.value)
        if tok.kind == "number":
            self.advance()
            return NumLit(float(tok.text))
        if tok.kind == "date":
            self.advance()
            try:
                return DateLit(dt.date.fromisoformat(tok.text))
            except ValueError as exc:
                raise malformed(f"invalid date {tok.text}") from exc
        if tok.kind == "datetime":
            self.advance()
            try:
                text = tok.text.replace("Z", "+00:00")
                return DateTimeLit(dt.datetime.fromisoformat(text).astimezone(dt.UTC))
            except ValueError as exc:
                raise malformed(f"invalid dateTime {tok.text}") from exc
        if tok.kind == "ident":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                self.advance()
                return BoolLit(word == "TRUE")
            if word == "NULL":
                self.advance()
                return NullLit()
            if word in RELATIVE_SIMPLE:
                self.advance()
                return RelDate(word)
            if word in RELATIVE_N:
                self.advance()
                self.expect_punct(":")
                n = self.integer()
                return RelDate(word, n)
            raise malformed(f"unsupported literal '{tok.text}' at column {tok.pos + 1}")
        raise self.unexpected("expected a value")


def parse(text: str) -> Query:
    """Parse a SOQL string into a :class:`Query`; :class:`SoqlError` when outside the subset."""

    if not isinstance(text, str) or not text.strip():
        raise malformed("empty query")
    return _Parser(text).parse()


# ---------------------------------------------------------------- schema check

# A resolved path: the lookups to follow (each a FieldDef on the previous object) and the final field.
Resolved = tuple[tuple[FieldDef, ...], FieldDef, tuple[str, ...]]


def _resolve(schema: Schema, obj: ObjectDef, path: tuple[str, ...]) -> Resolved:
    lookups: list[FieldDef] = []
    names: list[str] = []
    current = obj
    for rel in path[:-1]:
        fdef = current.relationships.get(rel.lower())
        if fdef is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"Didn't understand relationship '{rel}' in field path. If you are attempting to use a "
                "custom relationship, be sure to append the '__r' after the custom relationship name.",
            )
        lookups.append(fdef)
        names.append(fdef.relationship_name or rel)
        target = schema.get(fdef.reference_to or "")
        assert target is not None
        current = target
    final = current.field(path[-1])
    if final is None:
        raise SoqlError("INVALID_FIELD", f"No such column '{path[-1]}' on entity '{current.name}'.")
    names.append(final.name)
    return tuple(lookups), final, tuple(names)


# ---------------------------------------------------------------- evaluation


@dataclass
class RecordSource:
    """What the evaluator needs from the model."""

    records: Callable[[str, bool], Iterable[dict[str, Any]]]  # (object name, include deleted)
    get: Callable[[str, str], dict[str, Any] | None]  # (object name, id) — deleted parents too
    today: dt.date
    url_for: Callable[[str, str], str]  # (object name, id) -> attributes.url
    # (object name, field name) -> {comparison key: ids}; lets equality and IN skip a full scan
    index: Callable[[str, str], Mapping[Any, set[str]]] | None = None


@dataclass
class Result:
    total: int
    rows: list[dict[str, Any]]  # already rendered as JSON records


def date_range(lit: RelDate, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day (inclusive) a relative date literal stands for."""

    name, n = lit.name, lit.n or 0
    day = dt.timedelta(days=1)
    if name == "TODAY":
        return today, today
    if name == "YESTERDAY":
        return today - day, today - day
    if name == "TOMORROW":
        return today + day, today + day
    if name == "LAST_N_DAYS":
        return today - n * day, today
    if name == "NEXT_N_DAYS":
        return today + day, today + n * day
    if name.endswith("_WEEK"):  # weeks start on Sunday (en_US locale)
        start = today - dt.timedelta(days=(today.weekday() + 1) % 7)
        shift = {"THIS_WEEK": 0, "LAST_WEEK": -7, "NEXT_WEEK": 7}[name]
        start += dt.timedelta(days=shift)
        return start, start + 6 * day
    if name.endswith("_MONTH"):
        shift = {"THIS_MONTH": 0, "LAST_MONTH": -1, "NEXT_MONTH": 1}[name]
        month_index = today.year * 12 + today.month - 1 + shift
        first = dt.date(month_index // 12, month_index % 12 + 1, 1)
        nxt_index = month_index + 1
        nxt = dt.date(nxt_index // 12, nxt_index % 12 + 1, 1)
        return first, nxt - day
    if name.endswith("_YEAR"):
        year = today.year + {"THIS_YEAR": 0, "LAST_YEAR": -1, "NEXT_YEAR": 1}[name]
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    raise malformed(f"unsupported date literal {name}")


class _Compiled:
    def __init__(self, schema: Schema, query: Query, source: RecordSource) -> None:
        self.schema = schema
        self.query = query
        self.source = source
        obj = schema.get(query.sobject)
        if obj is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name.",
            )
        self.obj = obj
        self.select = [_resolve(schema, obj, p) for p in query.fields]
        seen: set[tuple[str, ...]] = set()
        for _l, _f, names in self.select:
            key = tuple(n.lower() for n in names)
            if key in seen:
                raise malformed(f"duplicate field selected: {'.'.join(names)}")
            seen.add(key)
        self.where = self.compile_expr(query.where) if query.where is not None else None
        self.order = [(_resolve(schema, obj, o.path), o) for o in query.order]

    # -- values along a path
    def value(self, record: dict[str, Any], resolved: Resolved) -> Any:
        lookups, final, _names = resolved
        current: dict[str, Any] | None = record
        for fdef in lookups:
            assert current is not None
            ref = current.get(fdef.name)
            if ref is None:
                return None
            current = self.source.get(fdef.reference_to or "", ref)
            if current is None:
                return None
        return current.get(final.name) if current is not None else None

    # -- WHERE → a predicate
    def compile_expr(self, expr: Expr) -> Callable[[dict[str, Any]], bool]:
        if isinstance(expr, BoolOp):
            # cheapest first: conditions on the object's own fields before parent paths
            items = sorted(expr.items, key=lambda e: len(e.path) if isinstance(e, Cond) else 10)
            parts = [self.compile_expr(e) for e in items]
            if expr.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        if isinstance(expr, Not):
            inner = self.compile_expr(expr.item)
            return lambda r: not inner(r)
        return self.compile_cond(expr)

    def compile_cond(self, cond: Cond) -> Callable[[dict[str, Any]], bool]:
        resolved = _resolve(self.schema, self.obj, cond.path)
        fdef = resolved[1]
        label = ".".join(cond.path)
        op = cond.op
        get = self.value

        if op in ("IN", "NOT IN"):
            assert isinstance(cond.value, tuple)
            keys = {self.key(fdef, self.operand(fdef, v, label, "=")) for v in cond.value}
            if op == "IN":
                return lambda r: (v := get(r, resolved)) is not None and self.key(fdef, v) in keys
            return lambda r: (v := get(r, resolved)) is None or self.key(fdef, v) not in keys

        lit = cond.value
        assert not isinstance(lit, tuple)
        if op == "LIKE":
            if fdef.type not in STRING_TYPES or fdef.type in ("id", "reference"):
                raise SoqlError(
                    "INVALID_FIELD", f"invalid operator on field '{label}': LIKE needs a text field"
                )
            assert isinstance(lit, StrLit)
            pattern = lit.like_regex()
            return lambda r: (v := get(r, resolved)) is not None and pattern.fullmatch(v) is not None

        if isinstance(lit, NullLit):
            if op == "=":
                return lambda r: get(r, resolved) is None
            if op == "!=":
                return lambda r: get(r, resolved) is not None
            raise malformed(f"null can only be compared with = or != (field '{label}')")

        if isinstance(lit, RelDate):
            if fdef.type not in ("date", "datetime"):
                raise SoqlError(
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{label}' must be of type {fdef.type}",
                )
            first, last = date_range(lit, self.source.today)
            after_last = last + dt.timedelta(days=1)
            # the range as a half-open interval [lo, hi), in the field's own type
            lo: Any = dt.datetime.combine(first, dt.time(), dt.UTC) if fdef.type == "datetime" else first
            hi: Any = (
                dt.datetime.combine(after_last, dt.time(), dt.UTC) if fdef.type == "datetime" else after_last
            )

            def test(v: Any) -> bool:
                if op == "=":
                    return bool(lo <= v < hi)
                if op == "!=":
                    return not lo <= v < hi
                if op == "<":
                    return bool(v < lo)
                if op == ">":
                    return bool(v >= hi)
                if op == "<=":
                    return bool(v < hi)
                return bool(v >= lo)

            if op == "!=":
                return lambda r: (v := get(r, resolved)) is None or test(v)
            return lambda r: (v := get(r, resolved)) is not None and test(v)

        operand = self.operand(fdef, lit, label, op)
        key = self.key(fdef, operand)
        if op == "=":
            return lambda r: (v := get(r, resolved)) is not None and self.key(fdef, v) == key
        if op == "!=":
            return lambda r: (v := get(r, resolved)) is None or self.key(fdef, v) != key
        compare: Callable[[Any, Any], Any] = {
            "<": operator.lt,
            "<=": operator.le,
            ">": operator.gt,
            ">=": operator.ge,
        }[op]
        return lambda r: (v := get(r, resolved)) is not None and bool(compare(self.key(fdef, v), key))

    def operand(self, fdef: FieldDef, lit: Literal, label: str, op: str) -> Any:
        t = fdef.type
        wrong = SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{label}' must be of type {t} and should"
            f"{'' if t in STRING_TYPES else ' not'} be enclosed in quotes",
        )
        if isinstance(lit, NullLit):
            return None
        if t in ("id", "reference"):
            if not isinstance(lit, StrLit):
                raise wrong
            normalized = normalize_id(lit.plain())
            if normalized is None:
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {lit.plain()}")
            return normalized
        if t in STRING_TYPES:
            if not isinstance(lit, StrLit):
                raise wrong
            return lit.plain()
        if t == "boolean":
            if not isinstance(lit, BoolLit):
                raise wrong
            if op not in ("=", "!="):
                raise malformed(f"invalid operator on boolean field '{label}'")
            return lit.value
        if t in NUMBER_TYPES:
            if not isinstance(lit, NumLit):
                raise wrong
            return lit.value
        if t == "date":
            if not isinstance(lit, DateLit):
                raise wrong
            return lit.value
        if t == "datetime":
            if not isinstance(lit, DateTimeLit):
                raise wrong
            return lit.value
        raise malformed(f"unsupported field type {t}")

    @staticmethod
    def key(fdef: FieldDef, value: Any) -> Any:
        if value is None:
            return None
        if fdef.type in ("id", "reference"):
            return value
        if fdef.type in STRING_TYPES:
            return str(value).casefold()
        return value

    # -- result rows
    def render_row(self, record: dict[str, Any], obj: ObjectDef) -> dict[str, Any]:
        row: dict[str, Any] = {
            "attributes": {"type": obj.name, "url": self.source.url_for(obj.name, record["Id"])}
        }
        for lookups, final, names in self.select:
            self._place(row, record, lookups, final, names)
        return row

    def _place(
        self,
        row: dict[str, Any],
        record: dict[str, Any] | None,
        lookups: tuple[FieldDef, ...],
        final: FieldDef,
        names: tuple[str, ...],
    ) -> None:
        if not lookups:
            row[final.name] = render(final, record.get(final.name)) if record is not None else None
            return
        lookup = lookups[0]
        rel_name = names[0]
        parent = None
        if record is not None and record.get(lookup.name) is not None:
            parent = self.source.get(lookup.reference_to or "", record[lookup.name])
        if parent is None:
            row.setdefault(rel_name, None)
            return
        nested = row.get(rel_name)
        if nested is None:
            parent_obj = self.schema.get(lookup.reference_to or "")
            assert parent_obj is not None
            nested = {
                "attributes": {
                    "type": parent_obj.name,
                    "url": self.source.url_for(parent_obj.name, parent["Id"]),
                }
            }
            row[rel_name] = nested
        self._place(nested, parent, lookups[1:], final, names[1:])


def execute(schema: Schema, query: Query, source: RecordSource, *, include_deleted: bool = False) -> Result:
    """Run ``query`` over the records of ``source``; rows come back rendered as the REST API does."""

    compiled = _Compiled(schema, query, source)
    candidates = _indexed_candidates(compiled, query.where, source)
    if candidates is None:
        pool: Iterable[dict[str, Any]] = source.records(compiled.obj.name, include_deleted)
    else:
        # ids are a key prefix and a fixed-width base62 counter: sorting them is creation order
        fetched = (source.get(compiled.obj.name, rid) for rid in sorted(candidates))
        pool = [r for r in fetched if r is not None and (include_deleted or not r["IsDeleted"])]
    rows = [r for r in pool if compiled.where is None or compiled.where(r)]
    for resolved, item in reversed(compiled.order):
        fdef = resolved[1]

        def sort_key(r: dict[str, Any], resolved: Resolved = resolved, fdef: FieldDef = fdef) -> Any:
            return _Compiled.key(fdef, compiled.value(r, resolved))

        present = [r for r in rows if sort_key(r) is not None]
        missing = [r for r in rows if sort_key(r) is None]
        present.sort(key=sort_key, reverse=item.desc)
        rows = missing + present if item.nulls_first else present + missing
    if query.offset:
        rows = rows[query.offset :]
    if query.limit is not None:
        rows = rows[: query.limit]
    if query.count:
        return Result(len(rows), [])
    return Result(len(rows), [compiled.render_row(r, compiled.obj) for r in rows])


def _indexed_candidates(compiled: _Compiled, where: Expr | None, source: RecordSource) -> set[str] | None:
    """Ids that can match, from an equality or IN on a text or id field, also through parent paths
    (``Contact__r.Participant_UID__c = 'x'`` → contacts with that uid → rows pointing at them).
    ``None``: no such condition, scan everything."""

    if where is None or source.index is None:
        return None
    conds = (
        [where]
        if isinstance(where, Cond)
        else list(where.items)
        if isinstance(where, BoolOp) and where.op == "AND"
        else []
    )
    best: set[str] | None = None
    for cond in conds:
        if not isinstance(cond, Cond) or cond.op not in ("=", "IN"):
            continue
        lookups, fdef, _names = _resolve(compiled.schema, compiled.obj, cond.path)
        if fdef.type not in STRING_TYPES:
            continue
        literals = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        if not all(isinstance(lit, StrLit) for lit in literals):
            continue
        owner = lookups[-1].reference_to if lookups else compiled.obj.name
        assert owner is not None
        mapping = source.index(owner, fdef.name)
        found: set[str] = set()
        for lit in literals:
            found |= mapping.get(
                _Compiled.key(fdef, compiled.operand(fdef, lit, ".".join(cond.path), "=")), set()
            )
        for i in range(len(lookups) - 1, -1, -1):  # walk back to the queried object
            holder = lookups[i - 1].reference_to if i > 0 else compiled.obj.name
            assert holder is not None
            by_parent = source.index(holder, lookups[i].name)
            found = set().union(*(by_parent.get(pid, set()) for pid in found)) if found else set()
        if best is None or len(found) < len(best):
            best = found
    return best


def build_index(fdef: FieldDef, records: Iterable[dict[str, Any]]) -> dict[Any, set[str]]:
    """Comparison key → ids, for :attr:`RecordSource.index` (keys as ``=`` compares them)."""

    out: dict[Any, set[str]] = {}
    for record in records:
        value = record.get(fdef.name)
        if value is not None:
            out.setdefault(_Compiled.key(fdef, value), set()).add(record["Id"])
    return out
