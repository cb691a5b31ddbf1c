"""Where generated events go: an SQS queue (boto3, e.g. on moto's server), a webhook, a JSONL file.

    sink = SqsSink(queue_url, endpoint_url="http://127.0.0.1:5000")
    emit(generator.events(1000), sink, rate=200)      # 200 events/s, sent in batches of 10

Every sink has ``send(batch)`` and ``close()``. :func:`emit` paces the events to ``rate``
per second (``None``: as fast as the sink takes them) and returns what it sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Protocol

import requests

from canvasbridge_emulators.caliper_feed.generator import GeneratedEvent
from canvasbridge_emulators.caliper_feed.signing import SigningKeys

SQS_BATCH = 10  # SendMessageBatch takes at most 10 entries


class Sink(Protocol):
    batch_size: int

    def send(self, batch: list[GeneratedEvent]) -> None: ...
    def close(self) -> None: ...


class SqsSink:
    """``SendMessageBatch`` with the body as Canvas writes it and the ``event_name``/``event_time`` attributes."""

    batch_size = SQS_BATCH

    def __init__(
        self,
        queue_url: str,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str = "us-east-1",
        aws_access_key_id: str = "testing",
        aws_secret_access_key: str = "testing",  # noqa: S107  (moto accepts any key)
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client(
                "sqs",
                endpoint_url=endpoint_url,
                region_name=region_name,
                aws_access_key_id=aws_access_key_id,
                aws_secret_access_key=aws_secret_access_key,
            )
        self.client = client
        self.queue_url = queue_url
        self.sent = 0

    def send(self, batch: list[GeneratedEvent]) -> None:
        for start in range(0, len(batch), SQS_BATCH):
            chunk = batch[start : start + SQS_BATCH]
            entries = []
            for i, event in enumerate(chunk):
                entry: dict[str, Any] = {"Id": str(i), "MessageBody": event.json()}
                if event.attributes:
                    entry["MessageAttributes"] = event.sqs_attributes()
                entries.append(entry)
            answer = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = answer.get("Failed") or []
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} messages: {failed[:3]}")
            self.sent += len(chunk)

    def close(self) -> None:
        return None


class WebhookSink:
    """One POST per event, the envelope as the JSON body (Canvas's HTTPS delivery).

    With ``attribute_headers`` the SQS attributes also go as ``X-Attribute-<name>`` headers,
    which canvasbridge's webhook source turns back into attributes. With ``signer`` (a
    :class:`~canvasbridge_emulators.caliper_feed.signing.SigningKeys`) the body is instead a
    JWT signed with its current key, the envelope in its claims ("Sign Payload").
    """

    batch_size = 1

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        attribute_headers: bool = True,
        session: requests.Session | None = None,
        timeout_s: float = 10.0,
        signer: SigningKeys | None = None,
    ) -> None:
        self.url = url
        self.session = session or requests.Session()
        self.token = token
        self.attribute_headers = attribute_headers
        self.timeout_s = timeout_s
        self.signer = signer
        self.sent = 0

    def send(self, batch: list[GeneratedEvent]) -> None:
        for event in batch:
            headers = {"Content-Type": "application/json", "X-Message-Id": event.body["data"][0]["id"]}
            body = event.json()
            if self.signer is not None:
                headers["Content-Type"] = "application/jwt"
                body = self.signer.sign(event.body)
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            if self.attribute_headers:
                headers.update({f"X-Attribute-{k}": v for k, v in event.attributes.items()})
            response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout_s)
            response.raise_for_status()
            self.sent += 1

    def close(self) -> None:
        self.session.close()


class JsonlSink:
    """One line per event: ``{"body", "attributes", "message_id"}`` (the engine's file-replay format)."""

    batch_size = 100

    def __init__(self, target: str | Path | IO[str]) -> None:
        if isinstance(target, str | Path):
            self._file: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115  (closed by close())
            self._owned = True
        else:
            self._file, self._owned = target, False
        self.sent = 0

    def send(self, batch: list[GeneratedEvent]) -> None:
        for event in batch:
            line = {
                "body": event.body,
                "attributes": event.attributes,
                "message_id": event.body["data"][0]["id"],
            }
            self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.sent += 1
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()


def emit(
    events: Iterable[GeneratedEvent],
    sink: Sink,
    *,
    rate: float | None = None,
    should_stop: Any = None,
) -> int:
    """Send ``events`` to ``sink`` at ``rate`` events per second; the number sent.

    ``should_stop`` (a callable or a ``threading.Event``) ends the run early.
    """

    started = time.monotonic()
    sent = 0
    batch: list[GeneratedEvent] = []
    size = max(1, sink.batch_size)
    if rate:
        size = max(1, min(size, int(rate // 10) or 1))  # keep pacing smooth at low rates

    def stopping() -> bool:
        if should_stop is None:
            return False
        return bool(should_stop.is_set() if hasattr(should_stop, "is_set") else should_stop())

    for event in events:
        if stopping():
            break
        batch.append(event)
        if len(batch) < size:
            continue
        sink.send(batch)
        sent += len(batch)
        batch = []
        if rate:
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    if batch and not stopping():
        sink.send(batch)
        sent += len(batch)
    return sent
