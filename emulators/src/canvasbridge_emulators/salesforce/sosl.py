"""A SOSL subset for ``GET /search?q=``: what ``sf.search`` and ``sf.quick_search`` send.

    FIND {term} [IN ALL|NAME|EMAIL|PHONE FIELDS]
        [RETURNING Object [(Field, ... [WHERE <soql condition>] [LIMIT n])], ...] [LIMIT n]

The term is one or more words (all must match, as SOSL's implicit AND), each matched
case-insensitively against the words of the searched fields; ``*`` matches any run of
characters and ``?`` one character. Without RETURNING every object is searched and only
``Id`` comes back. The answer is ``{"searchRecords": [...]}``, each record with its
``attributes``. Not covered: OR/AND NOT operators, quoted phrases, ``WITH`` clauses,
``ORDER BY`` and ``OFFSET`` inside RETURNING, and relevance ranking (records come in id order).
"""

from __future__ import annotations

import re
from typing import Any

from canvasbridge_emulators.salesforce.exceptions import SalesforceError
from canvasbridge_emulators.salesforce.models import SalesforceModel
from canvasbridge_emulators.salesforce.schema import ObjectDef

MAX_SEARCH_ROWS = 2000
_FIND = re.compile(r"^\s*FIND\s*\{((?:[^}\\]|\\.)*)\}(.*)$", re.I | re.S)
_IN = re.compile(r"^\s*IN\s+(ALL|NAME|EMAIL|PHONE)\s+FIELDS\b(.*)$", re.I | re.S)
_RETURNING = re.compile(r"^\s*RETURNING\s+(.*)$", re.I | re.S)
_LIMIT_TAIL = re.compile(r"^(.*?)\s*\bLIMIT\s+(\d+)\s*$", re.I | re.S)
_SPEC = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(([^()]*)\))?\s*(?:,|$)", re.S)
_TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist"})


def malformed(message: str) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_SEARCH", message)


def search(model: SalesforceModel, text: str, version: str) -> dict[str, Any]:
    m = _FIND.match(text)
    if m is None:
        raise malformed("No search term found. The search term must be enclosed in braces.")
    words = [_word_pattern(w) for w in re.sub(r"\\(.)", r"\1", m.group(1)).split()]
    if not words:
        raise malformed("search term must be longer than one character")
    rest = m.group(2)
    scope = "ALL"
    in_match = _IN.match(rest)
    if in_match:
        scope, rest = in_match.group(1).upper(), in_match.group(2)
    limit = MAX_SEARCH_ROWS
    specs_text = rest
    tail = re.search(r"\bLIMIT\s+(\d+)\s*$", rest, re.I)
    if tail and rest.rfind(")") < tail.start():  # a LIMIT outside every RETURNING (...)
        specs_text, limit = rest[: tail.start()], min(int(tail.group(1)), MAX_SEARCH_ROWS)
    returning = _RETURNING.match(specs_text)
    if returning:
        specs = _specs(returning.group(1))
    elif specs_text.strip():
        raise malformed(f"unexpected text after the search term: {specs_text.strip()!r}")
    else:
        specs = [(o.name, "") for o in model.schema.objects.values()]
    out: list[dict[str, Any]] = []
    for name, inner in specs:
        obj = model.object(name)
        out.extend(_search_object(model, obj, inner, words, scope, version))
    return {"searchRecords": out[:limit]}


def _specs(text: str) -> list[tuple[str, str]]:
    specs: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _SPEC.match(text, pos)
        if m is None or m.end() == pos:
            raise malformed(f"cannot read RETURNING near {text[pos : pos + 30]!r}")
        specs.append((m.group(1), (m.group(2) or "").strip()))
        pos = m.end()
    return specs


def _search_object(
    model: SalesforceModel, obj: ObjectDef, inner: str, words: list[re.Pattern[str]], scope: str, version: str
) -> list[dict[str, Any]]:
    limit: int | None = None
    tail = _LIMIT_TAIL.match(inner)
    if tail:
        inner, limit = tail.group(1), int(tail.group(2))
    where = ""
    split = re.split(r"\bWHERE\b", inner, maxsplit=1, flags=re.I)
    if len(split) == 2:
        inner, where = split[0], split[1].strip()
    fields = [f.strip() for f in inner.split(",") if f.strip()] or ["Id"]
    # the object name is the schema's own and the WHERE clause is already the client's SOQL,
    # which our SOQL subset parses (no database sees it)
    soql = f"SELECT Id FROM {obj.name}" + (f" WHERE {where}" if where else "")  # noqa: S608
    page = model.query(soql, batch_size=MAX_SEARCH_ROWS, version=version)
    candidates = [r["Id"] for r in page["records"]]
    while not page["done"]:
        page = model.query_more(page["nextRecordsUrl"].rsplit("/", 1)[1], version=version)
        candidates += [r["Id"] for r in page["records"]]
    searched = [f for f in obj.fields.values() if _in_scope(f.name, f.type, scope)]
    found: list[dict[str, Any]] = []
    for record_id in candidates:
        raw = model.raw(obj.name, record_id) or {}
        tokens = _tokens(" ".join(str(raw.get(f.name) or "") for f in searched))
        if all(any(w.fullmatch(t) for t in tokens) for w in words):
            found.append(model.render_record(obj, raw, fields, version))
            if limit is not None and len(found) >= limit:
                break
    return found


def _in_scope(name: str, ftype: str, scope: str) -> bool:
    if ftype not in _TEXT_TYPES:
        return False
    if scope == "NAME":
        return name in ("Name", "FirstName", "LastName")
    if scope == "EMAIL":
        return ftype == "email"
    if scope == "PHONE":
        return ftype == "phone"
    return True


def _tokens(text: str) -> set[str]:
    lowered = text.lower()
    words = set(re.split(r"[\s,;:()\[\]{}\"]+", lowered))  # whole words, e-mail addresses too
    return words | set(re.split(r"[\s@]+", lowered)) | set(re.split(r"[^\w]+", lowered))


def _word_pattern(word: str) -> re.Pattern[str]:
    if len(word.replace("*", "").replace("?", "")) < 2:
        raise malformed("search term must be longer than one character")
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in word.lower())
    return re.compile(body)
