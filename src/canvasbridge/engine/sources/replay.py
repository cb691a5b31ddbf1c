"""JSONL file replay: one message per line, for backfills, tests and the demo.

Each line is a JSON object::

    {"body": {"sub": "personer/56154"}, "routing_key": "no.uio.fs.FS-prod.personer.update",
     "attributes": {"event_name": "update"}, "message_id": "fs-1"}

``body`` may be any JSON value: a string is used as it is (UTF-8), anything else is
re-encoded as compact JSON. ``routing_key``, ``attributes`` (values stringified) and
``message_id`` are optional; the default message id is ``<source>:<file name>:<line>``,
so replaying a file twice gives the same ids. Blank lines are skipped.

A line that is not such an object is **not** skipped and does not stop the replay: it is
dispatched with the raw line as its body and an attribute ``replay_error`` saying what was
wrong, so the engine parks it with a reason.

When ``dispatch`` raises (the queue is down) the same line is retried with exponential
backoff (``retry_backoff_base_s`` doubling up to ``retry_backoff_cap_s``) until it
succeeds or the source is stopped; the log then names the line to resume from
(``start_line``). The replay ends at end of file, or with ``follow: true`` keeps waiting
for appended lines (checking every ``poll_interval_s``) until stopped. ``progress`` is
called with the running count after every dispatched line.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.sources.base import Dispatch, Progress, backoff_delay, stringify_attribute
from canvasbridge.engine.sources.config import FileSourceConfig
from canvasbridge.errors import ConfigError

log = logging.getLogger(__name__)

LINE_KEYS = frozenset({"body", "routing_key", "attributes", "message_id"})


class FileSource:
    """A :class:`~canvasbridge.engine.sources.base.Source` replaying a JSONL file.

    ``count`` is the number of lines dispatched; ``line`` the last line number handled.
    """

    def __init__(
        self, config: FileSourceConfig, dispatch: Dispatch, *, progress: Progress | None = None
    ) -> None:
        self.config = config
        self._dispatch = dispatch
        self._progress = progress
        self.count = 0
        self.line = config.start_line - 1

    @property
    def name(self) -> str:
        return self.config.name

    def run(self, stop: threading.Event) -> None:
        """Dispatch every line (from ``start_line``) until end of file or ``stop``."""
        path = self.config.path
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise ConfigError(f"sources.{self.name}.path: cannot open {path}: {exc.strerror}") from exc
        with handle:
            number = 0
            partial = b""
            while not stop.is_set():
                raw = handle.readline()
                if raw.endswith(b"\n"):
                    raw, partial = partial + raw, b""
                elif self.config.follow:
                    partial += raw  # end of file for now, perhaps mid-line: wait for more
                    if stop.wait(self.config.poll_interval_s):
                        break
                    continue
                elif not raw:
                    break  # end of file
                # else: a last line without a newline, taken as it is
                number += 1
                if number < self.config.start_line or not raw.strip():
                    continue
                if not self._dispatch_with_retry(self.envelope(raw, number), stop):
                    log.warning(
                        "file source %s stopped before line %d was queued; resume with start_line: %d",
                        self.name,
                        number,
                        number,
                    )
                    return
                self.line = number
                self.count += 1
                if self._progress is not None:
                    self._progress(self.count)
        log.info("file source %s: %d messages dispatched from %s", self.name, self.count, path)

    def envelope(self, raw: bytes, number: int) -> Envelope:
        """The envelope for line ``number`` (1-based) whose bytes are ``raw``."""
        default_id = f"{self.name}:{self.config.path.name}:{number}"
        line = raw.rstrip(b"\r\n")
        try:
            data: Any = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError(f"line is JSON {type(data).__name__}, not an object")
            if "body" not in data:
                raise ValueError("line has no 'body'")
            unknown = set(data) - LINE_KEYS
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            attributes = data.get("attributes") or {}
            if not isinstance(attributes, dict):
                raise ValueError("'attributes' is not an object")
        except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            reason = str(exc) if not isinstance(exc, json.JSONDecodeError) else f"not valid JSON: {exc}"
            return Envelope(
                body=line,
                source=self.name,
                message_id=default_id,
                attributes={"replay_error": f"line {number}: {reason}"},
            )
        body = data["body"]
        encoded = (
            body.encode("utf-8")
            if isinstance(body, str)
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        )
        routing_key = data.get("routing_key")
        return Envelope(
            body=encoded,
            source=self.name,
            message_id=str(data.get("message_id") or default_id),
            routing_key=None if routing_key is None else str(routing_key),
            attributes={str(k): stringify_attribute(v) for k, v in attributes.items()},
        )

    def _dispatch_with_retry(self, envelope: Envelope, stop: threading.Event) -> bool:
        attempt = 0
        while True:
            try:
                self._dispatch(envelope)
                return True
            except Exception as exc:
                delay = backoff_delay(
                    attempt, self.config.retry_backoff_base_s, self.config.retry_backoff_cap_s
                )
                log.warning(
                    "file source %s: dispatch of %s failed (%s); retrying in %.1f s",
                    self.name,
                    envelope.message_id,
                    exc,
                    delay,
                )
                attempt += 1
                if stop.wait(delay):
                    return False
