"""The Salesforce org's state and rules, without HTTP.

:class:`SalesforceModel` holds the records of every sObject in the schema, the users and
connected apps that may log in, the sessions, the daily API allowance and the open query
cursors. Every method is safe across threads (one re-entrant lock).

    model = SalesforceModel(today=datetime.date(2026, 3, 2), batch_size=200)
    pid = model.insert("TL_Programme__c", {"Name": "NPQH 2026", "LMS_Course_Id__c": 101})
    model.query("SELECT Id, Name FROM TL_Programme__c WHERE LMS_Course_Id__c = 101")
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from canvasbridge_emulators.salesforce import soql
from canvasbridge_emulators.salesforce.exceptions import (
    SalesforceError,
    invalid_field,
    invalid_session,
    invalid_type,
    json_parser_error,
    malformed_id,
    not_found,
    request_limit_exceeded,
)
from canvasbridge_emulators.salesforce.schema import (
    FieldDef,
    ObjectDef,
    Schema,
    ValueError_,
    coerce,
    default_schema,
    make_id,
    normalize_id,
    render,
)

DEFAULT_API_VERSION = "59.0"
DEFAULT_API_MAX = 15_000  # daily API requests of a small Enterprise org
DEFAULT_BATCH_SIZE = 2000  # rows per query page (Salesforce's default and maximum)
MAX_CURSORS = 200  # open query cursors kept; older ones answer INVALID_QUERY_LOCATOR
ORG_ID = "00DDn000000Emu1EAC"
USER_ID = "005Dn000000Emu1IAC"

DEFAULT_USERNAME = "integration@canvasbridge.example"
DEFAULT_PASSWORD = "emulator-password"
DEFAULT_SECURITY_TOKEN = "EMULATORTOKEN"
DEFAULT_CONSUMER_KEY = "canvasbridge-emulator-consumer-key"
DEFAULT_CONSUMER_SECRET = "canvasbridge-emulator-consumer-secret"


@dataclass
class Session:
    token: str
    issued_at: float
    expired: bool = False


@dataclass
class Cursor:
    rows: list[dict[str, Any]]
    total: int
    size: int = DEFAULT_BATCH_SIZE


@dataclass
class Credentials:
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD
    security_token: str = DEFAULT_SECURITY_TOKEN
    consumer_key: str = DEFAULT_CONSUMER_KEY
    consumer_secret: str = DEFAULT_CONSUMER_SECRET

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class _Undo:
    actions: list[Callable[[], Any]] = field(default_factory=list)


class SalesforceModel:
    """State of one emulated org. See the module docstring for an example."""

    def __init__(
        self,
        schema: Schema | None = None,
        *,
        today: dt.date | None = None,
        api_max: int = DEFAULT_API_MAX,
        batch_size: int = DEFAULT_BATCH_SIZE,
        credentials: Credentials | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.schema = schema or default_schema()
        self.credentials = credentials or Credentials()
        self.today_override = today
        self.api_max = api_max
        self.api_used = 0
        self.batch_size = batch_size
        self.session_ttl_s: float | None = None
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, dict[str, Any]]] = {o: {} for o in self.schema.objects}
        self._counters: dict[str, int] = {}
        self._autonumbers: dict[str, int] = {}
        self._sessions: dict[str, Session] = {}
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._undo: _Undo | None = None
        self._versions: dict[str, int] = {}  # per object, bumped by every write (index cache key)
        self._indexes: dict[tuple[str, str], tuple[int, dict[Any, set[str]]]] = {}
        self._seed: tuple[Any, ...] | None = None
        self._initial = (today, api_max, batch_size)
        from canvasbridge_emulators.salesforce.bulk import BulkJobs
        from canvasbridge_emulators.salesforce.bulk_v1 import BulkV1

        self.bulk = BulkJobs(self)
        self.bulk_v1 = BulkV1(self)

    # ------------------------------------------------------------ time

    @property
    def today(self) -> dt.date:
        """The org's "today" for SOQL date literals (fixed by ``today=`` or :meth:`set_today`)."""

        return self.today_override or self._clock().date()

    def set_today(self, today: dt.date | None) -> None:
        self.today_override = today

    def now(self) -> dt.datetime:
        if self.today_override is not None:
            clock = self._clock()
            return dt.datetime.combine(self.today_override, clock.time(), dt.UTC)
        return self._clock()

    # ------------------------------------------------------------ auth and limits

    def login(self, username: str, password: str) -> str | None:
        """A new session token, or ``None`` when the credentials are wrong.

        The password may carry the security token appended, as Salesforce accepts it.
        """

        c = self.credentials
        if username != c.username or password not in (c.password, c.password + c.security_token):
            return None
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._sessions[token] = Session(token, self._clock().timestamp())
        return token

    def check_client(self, client_id: str, client_secret: str) -> str | None:
        """``None`` when the connected app is known, else the OAuth error code."""

        if client_id != self.credentials.consumer_key:
            return "invalid_client_id"
        if client_secret != self.credentials.consumer_secret:
            return "invalid_client"
        return None

    def authenticate(self, token: str | None) -> None:
        """Raise 401 ``INVALID_SESSION_ID`` unless ``token`` is a live session."""

        with self._lock:
            session = self._sessions.get(token or "")
            if session is None or session.expired:
                raise invalid_session()
            if (
                self.session_ttl_s is not None
                and self._clock().timestamp() - session.issued_at > self.session_ttl_s
            ):
                session.expired = True
                raise invalid_session()

    def expire_sessions(self) -> int:
        """Expire every live session (each then answers 401 once; a new login works)."""

        with self._lock:
            live = [s for s in self._sessions.values() if not s.expired]
            for s in live:
                s.expired = True
            return len(live)

    def charge_api_call(self) -> None:
        """Count one API request, or raise 403 ``REQUEST_LIMIT_EXCEEDED`` when the allowance is spent."""

        with self._lock:
            if self.api_used >= self.api_max:
                raise request_limit_exceeded()
            self.api_used += 1

    def limit_info(self) -> str:
        return f"api-usage={self.api_used}/{self.api_max}"

    def limits(self) -> dict[str, Any]:
        return {
            "DailyApiRequests": {"Max": self.api_max, "Remaining": max(0, self.api_max - self.api_used)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        }

    # ------------------------------------------------------------ schema helpers

    def object(self, name: str) -> ObjectDef:
        obj = self.schema.get(name)
        if obj is None:
            raise invalid_type(name)
        return obj

    def _field(self, obj: ObjectDef, name: str) -> FieldDef:
        fdef = obj.field(name)
        if fdef is None:
            raise invalid_field(obj.name, name)
        return fdef

    def url_for(self, obj_name: str, record_id: str, version: str = DEFAULT_API_VERSION) -> str:
        return f"/services/data/v{version}/sobjects/{obj_name}/{record_id}"

    # ------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[Callable[[], None]]:
        """Group writes; the yielded function rolls back everything done inside.

        Nested transactions join the outer one.
        """

        with self._lock:
            if self._undo is not None:
                yield lambda: None
                return
            undo = _Undo()
            self._undo = undo

            def rollback() -> None:
                for action in reversed(undo.actions):
                    action()
                undo.actions.clear()
                self._touch()

            try:
                yield rollback
            finally:
                self._undo = None

    def _journal(self, obj: ObjectDef, action: Callable[[], Any]) -> None:
        self._touch(obj.name)
        if self._undo is not None:
            self._undo.actions.append(action)

    def _touch(self, obj_name: str | None = None) -> None:
        if obj_name is None:
            self._versions = {k: v + 1 for k, v in self._versions.items()}
            self._indexes.clear()
        else:
            key = obj_name.lower()
            self._versions[key] = self._versions.get(key, 0) + 1

    def index(self, obj_name: str, field_name: str) -> dict[Any, set[str]]:
        """Comparison key → ids of one field's values, cached until the object changes."""

        with self._lock:
            obj = self.object(obj_name)
            key = (obj.name.lower(), field_name.lower())
            version = self._versions.get(obj.name.lower(), 0)
            cached = self._indexes.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            fdef = self._field(obj, field_name)
            built = soql.build_index(fdef, self._records[obj.name.lower()].values())
            self._indexes[key] = (version, built)
            return built

    # ------------------------------------------------------------ writes

    def _validated(self, obj: ObjectDef, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, raw in values.items():
            if key == "attributes":
                continue
            fdef = self._field(obj, key)
            if not fdef.writable:
                if fdef.name == "Id" and not creating:
                    continue
                raise SalesforceError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {fdef.name}. Please check the security settings of this "
                    "field and verify that it is read/write for your profile or permission set.",
                    [fdef.name],
                )
            try:
                value = coerce(fdef, raw)
            except ValueError_ as exc:
                raise json_parser_error(f"{exc} (field {fdef.name})") from exc
            if fdef.type == "reference" and value is not None:
                value = self._check_reference(fdef, value)
            out[fdef.name] = value
        return out

    def _check_reference(self, fdef: FieldDef, value: str) -> str:
        normalized = normalize_id(value)
        if normalized is None:
            raise malformed_id(value)
        target = self.schema.get(fdef.reference_to or "")
        assert target is not None
        if normalized[:3] != target.key_prefix:
            raise SalesforceError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                f"field integrity exception: unknown (id value of incorrect type): {value}",
                [fdef.name],
            )
        record = self._records[target.name.lower()].get(normalized)
        if record is None:
            raise SalesforceError(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fdef.name]
            )
        if record["IsDeleted"]:
            raise SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", [fdef.name])
        return normalized

    def _check_required(self, obj: ObjectDef, record: Mapping[str, Any]) -> None:
        missing = [f.name for f in obj.fields.values() if f.required and record.get(f.name) in (None, "")]
        if missing:
            raise SalesforceError(
                400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )

    def _check_unique(self, obj: ObjectDef, record: Mapping[str, Any]) -> None:
        """Refuse a Unique field's value that another live record of the object already holds."""

        for fdef in obj.fields.values():
            value = record.get(fdef.name) if fdef.unique else None
            if value is None:
                continue
            wanted = str(value) if fdef.case_sensitive else str(value).casefold()
            for other in self._records[obj.name.lower()].values():
                held = other.get(fdef.name)
                if other["IsDeleted"] or held is None or other["Id"] == record.get("Id"):
                    continue
                if (str(held) if fdef.case_sensitive else str(held).casefold()) == wanted:
                    raise SalesforceError(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {fdef.name} duplicates value on record with id: {other['Id']}",
                        [],
                    )

    def _computed(self, obj: ObjectDef, record: dict[str, Any]) -> None:
        for fdef in obj.fields.values():
            if fdef.autonumber == "{name}":
                record[fdef.name] = (
                    " ".join(p for p in (record.get("FirstName"), record.get("LastName")) if p) or None
                )

    def insert(self, obj_name: str, values: Mapping[str, Any]) -> str:
        """Create a record; its new 18-character id. Raises :class:`SalesforceError`."""

        with self._lock:
            obj = self.object(obj_name)
            if any(k.lower() == "id" for k in values):
                raise SalesforceError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            fields = self._validated(obj, values, creating=True)
            self._check_required(obj, fields)
            n = self._counters.get(obj.key_prefix, 0) + 1
            self._counters[obj.key_prefix] = n
            record_id = make_id(obj.key_prefix, n)
            now = self.now()
            record: dict[str, Any] = {f.name: None for f in obj.fields.values()}
            record.update(
                Id=record_id, IsDeleted=False, CreatedDate=now, LastModifiedDate=now, SystemModstamp=now
            )
            for fdef in obj.fields.values():
                if fdef.autonumber and fdef.autonumber != "{name}":
                    self._autonumbers[obj.name] = self._autonumbers.get(obj.name, 0) + 1
                    record[fdef.name] = _format_autonumber(fdef.autonumber, self._autonumbers[obj.name])
            record.update(fields)
            self._computed(obj, record)
            self._check_unique(obj, record)
            table = self._records[obj.name.lower()]
            table[record_id] = record
            self._journal(obj, lambda: table.pop(record_id, None))
            return record_id

    def _live(self, obj: ObjectDef, record_id: str) -> dict[str, Any]:
        normalized = normalize_id(record_id)
        if normalized is None:
            raise not_found(f"Provided external ID field does not exist or is not accessible: {record_id}")
        record = self._records[obj.name.lower()].get(normalized)
        if record is None or record["IsDeleted"]:
            raise not_found()
        return record

    def update(self, obj_name: str, record_id: str, values: Mapping[str, Any]) -> None:
        with self._lock:
            obj = self.object(obj_name)
            record = self._live(obj, record_id)
            body_id = next((v for k, v in values.items() if k.lower() == "id"), None)
            if body_id is not None and normalize_id(str(body_id)) != record["Id"]:
                raise SalesforceError(
                    400, "INVALID_ID_FIELD", "The Id field should not be specified in the sobject data."
                )
            fields = self._validated(obj, values, creating=False)
            merged = {**record, **fields}
            self._check_required(obj, merged)
            self._check_unique(obj, merged)
            before = dict(record)
            record.update(fields)
            record["LastModifiedDate"] = record["SystemModstamp"] = self.now()
            self._computed(obj, record)

            def restore() -> None:
                record.clear()
                record.update(before)

            self._journal(obj, restore)

    def delete(self, obj_name: str, record_id: str) -> None:
        with self._lock:
            obj = self.object(obj_name)
            record = self._live(obj, record_id)
            stamp = record["SystemModstamp"]
            record["IsDeleted"] = True
            record["SystemModstamp"] = self.now()  # as Salesforce stamps a deletion

            def undelete() -> None:
                record["IsDeleted"] = False
                record["SystemModstamp"] = stamp

            self._journal(obj, undelete)

    def changed_between(
        self, obj_name: str, start: dt.datetime, end: dt.datetime, *, deleted: bool
    ) -> list[dict[str, Any]]:
        """Raw records (deleted ones, or live ones) whose ``SystemModstamp`` is in ``[start, end]``,
        oldest first: what the sObject Get Deleted / Get Updated resources report."""

        with self._lock:
            table = self._records[self.object(obj_name).name.lower()]
            found = [
                r for r in table.values() if r["IsDeleted"] == deleted and start <= r["SystemModstamp"] <= end
            ]
            return sorted(found, key=lambda r: (r["SystemModstamp"], r["Id"]))

    def find_by(self, obj_name: str, field_name: str, value: str) -> list[str]:
        """Ids of live records whose external-id field equals ``value`` (ignoring case)."""

        with self._lock:
            obj = self.object(obj_name)
            fdef = obj.field(field_name)
            if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                raise not_found(
                    f"Provided external ID field does not exist or is not accessible: {field_name}"
                )
            if fdef.name == "Id":
                normalized = normalize_id(value)
                record = self._records[obj.name.lower()].get(normalized or "")
                return [record["Id"]] if record is not None and not record["IsDeleted"] else []
            wanted = value.casefold()
            return [
                r["Id"]
                for r in self._records[obj.name.lower()].values()
                if not r["IsDeleted"]
                and r.get(fdef.name) is not None
                and str(r[fdef.name]).casefold() == wanted
            ]

    def upsert(
        self, obj_name: str, field_name: str, value: str, values: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """Insert or update by external id: ``(id, created)``. Several matches raise 300."""

        with self._lock:
            obj = self.object(obj_name)
            fdef = obj.field(field_name)
            matches = self.find_by(obj_name, field_name, value)
            assert fdef is not None
            body = {k: v for k, v in values.items() if k != "attributes"}
            for key in list(body):
                if key.lower() == fdef.name.lower():
                    if str(body[key]).casefold() != value.casefold():
                        raise SalesforceError(
                            400,
                            "INVALID_FIELD",
                            f"The external id in the body does not match the URL: {key}",
                            [key],
                        )
                    del body[key]
            if len(matches) > 1:
                raise SalesforceError(300, "MULTIPLE_CHOICES", "more than one record matches")
            if matches:
                self.update(obj.name, matches[0], body)
                return matches[0], False
            if fdef.name == "Id":
                raise not_found()
            return self.insert(obj.name, {**body, fdef.name: value}), True

    # ------------------------------------------------------------ reads

    def get(self, obj_name: str, record_id: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """A record as the REST API renders it (``attributes`` first)."""

        with self._lock:
            obj = self.object(obj_name)
            record = self._live(obj, record_id)
            return self.render_record(obj, record, fields)

    def render_record(
        self,
        obj: ObjectDef,
        record: Mapping[str, Any],
        fields: Iterable[str] | None = None,
        version: str = DEFAULT_API_VERSION,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {"type": obj.name, "url": self.url_for(obj.name, record["Id"], version)}
        }
        wanted = [self._field(obj, f) for f in fields] if fields else list(obj.fields.values())
        for fdef in wanted:
            out[fdef.name] = render(fdef, record.get(fdef.name))
        return out

    def records(self, obj_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The raw stored records of one object (Python values, not rendered)."""

        with self._lock:
            table = self._records[self.object(obj_name).name.lower()]
            return [r for r in table.values() if include_deleted or not r["IsDeleted"]]

    def raw(self, obj_name: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._records[self.object(obj_name).name.lower()].get(record_id)

    def query(
        self,
        text: str,
        *,
        include_deleted: bool = False,
        batch_size: int | None = None,
        version: str = DEFAULT_API_VERSION,
    ) -> dict[str, Any]:
        """Run SOQL; the first page ``{totalSize, done, records[, nextRecordsUrl]}``.

        Raises :class:`SalesforceError` 400 with ``MALFORMED_QUERY``, ``INVALID_FIELD`` or
        ``INVALID_TYPE`` for what the subset does not cover or the schema lacks.
        """

        with self._lock:
            try:
                parsed = soql.parse(text)
                source = soql.RecordSource(
                    records=lambda name, deleted: self.records(name, deleted),
                    get=lambda name, rid: self.raw(name, rid),
                    today=self.today,
                    url_for=lambda name, rid: self.url_for(name, rid, version),
                    index=self.index,
                )
                result = soql.execute(self.schema, parsed, source, include_deleted=include_deleted)
            except soql.SoqlError as exc:
                raise SalesforceError(400, exc.code, exc.message) from exc
            size = max(1, min(batch_size or self.batch_size, DEFAULT_BATCH_SIZE))
            return self._page(Cursor(result.rows, result.total), 0, size, version)

    def query_more(self, locator: str, *, version: str = DEFAULT_API_VERSION) -> dict[str, Any]:
        """The page a ``nextRecordsUrl`` (``<cursor>-<offset>``) points at."""

        with self._lock:
            m = re.fullmatch(r"(01g[A-Za-z0-9]+)-(\d+)", locator)
            cursor = self._cursors.get(m.group(1)) if m else None
            if m is None or cursor is None:
                raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self._page(cursor, int(m.group(2)), cursor.size, version, cursor_id=m.group(1))

    def _page(
        self, cursor: Cursor, start: int, size: int, version: str, cursor_id: str | None = None
    ) -> dict[str, Any]:
        rows = cursor.rows[start : start + size]
        done = start + size >= len(cursor.rows)
        page: dict[str, Any] = {"totalSize": cursor.total, "done": done, "records": rows}
        if not done:
            if cursor_id is None:
                cursor_id = "01g" + secrets.token_hex(8)[:12] + "AAA"
                cursor.size = size
                self._cursors[cursor_id] = cursor
                while len(self._cursors) > MAX_CURSORS:
                    self._cursors.popitem(last=False)
            page["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{start + size}"
        return page

    # ------------------------------------------------------------ seeding, reset, state

    def mark_seed(self) -> None:
        """Remember the current data as the state :meth:`reset` returns to."""

        with self._lock:
            self._seed = (copy.deepcopy(self._records), dict(self._counters), dict(self._autonumbers))

    def reset(self) -> None:
        """Back to the seeded data; sessions, cursors and API usage cleared."""

        with self._lock:
            if self._seed is None:
                self._records = {o: {} for o in self.schema.objects}
                self._counters, self._autonumbers = {}, {}
            else:
                records, counters, autonumbers = self._seed
                self._records = copy.deepcopy(records)
                self._counters, self._autonumbers = dict(counters), dict(autonumbers)
            self._sessions.clear()
            self._cursors.clear()
            self.bulk.clear()
            self.bulk_v1.reset()
            self._touch()
            self.api_used = 0
            self.session_ttl_s = None
            self.today_override, self.api_max, self.batch_size = self._initial

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "today": self.today.isoformat(),
                "api_usage": {"used": self.api_used, "max": self.api_max},
                "batch_size": self.batch_size,
                "sessions": {
                    "live": sum(1 for s in self._sessions.values() if not s.expired),
                    "expired": sum(1 for s in self._sessions.values() if s.expired),
                },
                "records": {
                    obj.name: sum(1 for r in self._records[key].values() if not r["IsDeleted"])
                    for key, obj in self.schema.objects.items()
                },
                "deleted": {
                    obj.name: sum(1 for r in self._records[key].values() if r["IsDeleted"])
                    for key, obj in self.schema.objects.items()
                },
            }


def _format_autonumber(pattern: str, n: int) -> str:
    m = re.search(r"\{(0+)\}", pattern)
    if not m:
        return f"{pattern}{n}"
    return pattern[: m.start()] + str(n).zfill(len(m.group(1))) + pattern[m.end() :]
