"""Change notifications in the source systems' own formats, and where to publish them.

Formats (reference ``original-systems.md`` B.2):

* **Cerebrum**, SCIM-style: routing key ``no.uio.cerebrum.scim.<entity_type>.<event>``
  (entity types ``persons``, ``accounts``, ``groups``, ``ous``); body ``jti``,
  ``eventUris`` (``urn:ietf:params:event:SCIM:<event>``), ``iat`` (epoch seconds),
  ``iss``, ``aud`` (list), ``sub`` (URL ending with the account or group *name*, or the
  numeric person or OU id), ``resourceType``, and for ``modify`` the changed attributes
  under the event URI.
* **FS**, JWT-claims style: routing key ``no.uio.fs.<iss>.<resource>.<operation>``; body
  ``sub`` ``"<resource>/<id>"`` (id parts URL-encoded, ``H%C3%98ST``), ``iss``, ``iat``
  (epoch *milliseconds*, as a string), ``operation``, ``jti``; ``personer`` also carry
  ``person_id``. The routing key pattern is generalised from one documented example.
* **SAP** (SAPUiO), SCIM-like: body ``sub`` (URL ending ``locations(<id>)`` or
  ``employees(<id>)``), ``jti``, ``iat``, ``iss``, ``eventUris``. Its routing key is not
  public; we use ``no.uio.sap.scim.<locations|employees>.<event>``.

Publishers (each ``publish(notification)``, thread-safe, ``close()``):

* :class:`MemoryPublisher` keeps messages in a list (tests, the demo's own view).
* :class:`AmqpPublisher` publishes to a topic exchange (one per system) with pika's
  ``BlockingConnection`` and publisher confirms; messages are persistent JSON.
* :class:`HttpPublisher` POSTs the JSON body to a URL with the routing key in a header.

:func:`publisher_for` builds one from a target string: ``memory``, ``amqp://…`` or
``http(s)://…``.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

ROUTING_KEY_HEADER = "X-Routing-Key"  # header that carries the routing key over HTTP
SCIM_URI_PREFIX = "urn:ietf:params:event:SCIM"
DEFAULT_EXCHANGES = {
    "fs": "outgoing_system-emulator-fs",
    "cerebrum": "outgoing_system-emulator-cerebrum",
    "sap": "outgoing_system-emulator-sap",
}
CEREBRUM_ENTITY_TYPES = ("persons", "accounts", "groups", "ous")
CEREBRUM_EVENTS = (
    "create",
    "modify",
    "delete",
    "activate",
    "deactivate",
    "add",
    "remove",
    "password",
    "join",
)
FS_OPERATIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class Notification:
    """One message: which system sent it, its routing key and its JSON body."""

    system: str
    routing_key: str
    body: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode()

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "routing_key": self.routing_key, "body": self.body}


# ---------------------------------------------------------------------------- formats


def cerebrum_notification(
    entity_type: str,
    event: str,
    ident: str | int,
    *,
    base_url: str = "https://cerebrum-ws.uio.no/v1",
    iss: str = "cerebrum",
    aud: Sequence[str] = ("lms@uio",),
    attributes: Sequence[str] | None = None,
) -> Notification:
    """A Cerebrum SCIM-style event; ``ident`` is the account/group name or the numeric id."""
    if entity_type not in CEREBRUM_ENTITY_TYPES:
        raise ValueError(f"unknown Cerebrum entity type {entity_type!r}")
    if event not in CEREBRUM_EVENTS:
        raise ValueError(f"unknown Cerebrum event {event!r}")
    uri = f"{SCIM_URI_PREFIX}:{event}"
    body: dict[str, Any] = {
        "jti": str(uuid.uuid4()),
        "eventUris": [uri],
        "iat": int(time.time()),
        "iss": iss,
        "aud": list(aud),
        "sub": f"{base_url.rstrip('/')}/{entity_type}/{quote(str(ident), safe='')}",
        "resourceType": entity_type,
    }
    if attributes:
        body[uri] = {"attributes": list(attributes)}
    return Notification("cerebrum", f"no.uio.cerebrum.scim.{entity_type}.{event}", body)


@functools.lru_cache(maxsize=1 << 16)  # a collection page renders thousands of the same unit ids
def fs_encode_id(key: str) -> str:
    """An FS id as it appears in paths and ``sub``: each comma-separated part URL-encoded."""
    return ",".join(quote(part, safe="") for part in key.split(","))


def fs_notification(resource: str, operation: str, key: str, *, iss: str = "FS-emulator") -> Notification:
    """An FS claims-style event about ``<resource>/<key>`` (``key`` unencoded)."""
    if operation not in FS_OPERATIONS:
        raise ValueError(f"unknown FS operation {operation!r}")
    body: dict[str, Any] = {
        "sub": f"{resource}/{fs_encode_id(key)}",
        "iss": iss,
        "iat": str(int(time.time() * 1000)),
        "operation": operation,
        "jti": str(uuid.uuid4()),
    }
    if resource == "personer":
        body["person_id"] = key
    return Notification("fs", f"no.uio.fs.{iss}.{resource}.{operation}", body)


def sap_notification(
    entity: str,
    ident: int,
    event: str = "modify",
    *,
    base_url: str = "https://sap.uio.no/api",
    iss: str = "sapuio",
) -> Notification:
    """A SAPUiO event about ``locations(<id>)`` or ``employees(<id>)``."""
    if entity not in ("locations", "employees"):
        raise ValueError(f"unknown SAP entity {entity!r}")
    body = {
        "jti": str(uuid.uuid4()),
        "eventUris": [f"{SCIM_URI_PREFIX}:{event}"],
        "iat": int(time.time()),
        "iss": iss,
        "sub": f"{base_url.rstrip('/')}/{entity}({int(ident)})",
    }
    return Notification("sap", f"no.uio.sap.scim.{entity}.{event}", body)


# ---------------------------------------------------------------------------- publishers


class Publisher(Protocol):
    def publish(self, notification: Notification) -> None: ...

    def close(self) -> None: ...


class MemoryPublisher:
    """Keeps every notification in :attr:`messages` (in order)."""

    def __init__(self) -> None:
        self.messages: list[Notification] = []
        self._lock = threading.Lock()

    def publish(self, notification: Notification) -> None:
        with self._lock:
            self.messages.append(notification)

    def take(self) -> list[Notification]:
        """The messages so far, emptying the list."""
        with self._lock:
            taken, self.messages = self.messages, []
        return taken

    def close(self) -> None:
        pass


def pika_parameters(url: str) -> Any:
    """pika connection parameters from an AMQP URL; the kombu spelling of the default
    vhost (``amqp://host:5672//``) is read as ``/`` rather than as an empty vhost."""
    import pika

    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if sep and slash and (path == "/" or path.startswith("/?")):
        url = f"{scheme}://{host}/%2F{path[1:]}"
    return pika.URLParameters(url)


class AmqpPublisher:
    """Publishes to a topic exchange through pika with publisher confirms.

    ``declare`` declares the (durable, topic) exchange on connect. One connection, used
    under a lock; reconnects once when the connection was lost.
    """

    def __init__(self, url: str, exchange: str, *, declare: bool = True) -> None:
        self.url = url
        self.exchange = exchange
        self.declare = declare
        self._lock = threading.Lock()
        self._connection: Any = None
        self._channel: Any = None

    def _connect(self) -> None:
        import pika

        self._connection = pika.BlockingConnection(pika_parameters(self.url))
        self._channel = self._connection.channel()
        self._channel.confirm_delivery()
        if self.declare:
            self._channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)

    def publish(self, notification: Notification) -> None:
        import pika
        import pika.exceptions

        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=str(notification.body.get("jti") or uuid.uuid4()),
            timestamp=int(time.time()),
        )
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._channel is None or self._channel.is_closed:
                        self._connect()
                    self._channel.basic_publish(
                        self.exchange, notification.routing_key, notification.payload(), properties
                    )
                    return
                except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelClosed):
                    self._drop()
                    if attempt == 2:
                        raise

    def _drop(self) -> None:
        try:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
        except Exception:  # noqa: S110  (closing a broken connection may fail; nothing to do)
            pass
        self._connection = self._channel = None

    def close(self) -> None:
        with self._lock:
            self._drop()


class HttpPublisher:
    """POSTs each body as JSON to ``url`` with the routing key in ``header``."""

    def __init__(self, url: str, *, header: str = ROUTING_KEY_HEADER, timeout_s: float = 10.0) -> None:
        import httpx

        self.url = url
        self.header = header
        self._client = httpx.Client(timeout=timeout_s)
        self._lock = threading.Lock()

    def publish(self, notification: Notification) -> None:
        with self._lock:
            response = self._client.post(
                self.url,
                content=notification.payload(),
                headers={"content-type": "application/json", self.header: notification.routing_key},
            )
        response.raise_for_status()

    def close(self) -> None:
        self._client.close()


def publisher_for(target: str | None, system: str, *, exchange: str | None = None) -> Publisher:
    """``None``/``"memory"`` → in memory; ``amqp(s)://…`` → the system's topic exchange
    (``exchange`` or ``outgoing_system-emulator-<system>``); ``http(s)://…`` → POST there."""
    if target is None or target == "memory":
        return MemoryPublisher()
    if target.startswith(("amqp://", "amqps://")):
        return AmqpPublisher(target, exchange or DEFAULT_EXCHANGES[system])
    if target.startswith(("http://", "https://")):
        return HttpPublisher(target)
    raise ValueError(f"cannot publish to {target!r}: use memory, amqp://… or http(s)://…")


# ---------------------------------------------------------------------------- changes


class ChangeError(Exception):
    """A change request that cannot be applied; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


ChangeHandler = Callable[..., Notification]


def change(kind: str) -> Callable[[ChangeHandler], ChangeHandler]:
    """Mark a :class:`ChangeSet` method as the handler of change ``kind``."""

    def mark(method: ChangeHandler) -> ChangeHandler:
        method._change_kind = kind  # type: ignore[attr-defined]
        return method

    return mark


class ChangeSet:
    """The changes one source system knows: each mutates the university and publishes
    exactly one notification. Subclasses mark handlers with :func:`change`; a handler
    takes the change's parameters as keyword arguments (plus ``base_url``) and returns the
    notification to publish.
    """

    system = ""
    _handlers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls) -> None:
        cls._handlers = {
            member._change_kind: name
            for name, member in vars(cls).items()
            if callable(member) and hasattr(member, "_change_kind")
        }

    def __init__(self, university: Any, publisher: Publisher, *, base_url: str | None = None) -> None:
        self.university = university
        self.publisher = publisher
        self.base_url = base_url
        self.published = 0
        self._count_lock = threading.Lock()

    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    def apply(
        self, kind: str, params: Mapping[str, Any] | None = None, *, base_url: str | None = None
    ) -> Notification:
        """Apply one change and publish its notification; raises :class:`ChangeError`."""
        name = self._handlers.get(kind)
        if name is None:
            raise ChangeError(f"unknown {self.system} change {kind!r}; known: {', '.join(self.kinds())}", 400)
        handler = getattr(self, name)
        try:
            with self.university.lock:
                notification: Notification = handler(base_url=base_url or self.base_url, **dict(params or {}))
        except TypeError as exc:
            raise ChangeError(f"{kind}: bad parameters ({exc})") from None
        except KeyError as exc:  # UniversityError is a KeyError
            raise ChangeError(f"{kind}: {exc}", 404) from None
        except ValueError as exc:
            raise ChangeError(f"{kind}: {exc}") from None
        self.publisher.publish(notification)  # errors propagate: the change stays applied
        with self._count_lock:
            self.published += 1
        return notification


def change_routes(changes: ChangeSet) -> list[Any]:
    """``POST /_emulator/changes`` (``{"kind": …, "params": {…}}``) and ``GET`` (the kinds)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def post(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
            return JSONResponse({"error": 'expected {"kind": …, "params": {…}}'}, status_code=400)
        params = body.get("params", {k: v for k, v in body.items() if k != "kind"})
        if not isinstance(params, dict):
            return JSONResponse({"error": "'params' must be an object"}, status_code=400)
        base = changes.base_url or str(request.base_url).rstrip("/")
        try:
            notification = await run_in_threadpool(changes.apply, body["kind"], params, base_url=base)
        except ChangeError as exc:
            return JSONResponse({"error": exc.message, "kind": body["kind"]}, status_code=exc.status)
        except Exception as exc:  # the change is applied but its notification could not be published
            return JSONResponse(
                {"error": f"changed, but publishing failed: {exc!r}", "kind": body["kind"], "applied": True},
                status_code=502,
            )
        return JSONResponse({"kind": body["kind"], "notification": notification.as_dict()})

    async def get(request: Request) -> JSONResponse:
        return JSONResponse(
            {"system": changes.system, "kinds": changes.kinds(), "published": changes.published}
        )

    return [
        Route("/_emulator/changes", post, methods=["POST"]),
        Route("/_emulator/changes", get, methods=["GET"]),
    ]
