"""AWS Lambda entry point: ``canvasbridge.live_events.lambda_handler.lambda_handler``.

Triggered by an SQS event source mapping with ``ReportBatchItemFailures``: the handler
returns ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}`` naming only the
messages that failed, so SQS redelivers those and deletes the rest. A record fails when
its Salesforce write failed, a Canvas or Salesforce call failed, or (with
``MALFORMED_MESSAGES=fail``, the default) its body is not a Caliper event we can name; such
messages reach the queue's dead-letter queue after ``maxReceiveCount`` deliveries, which is
the Lambda's way of parking them. ``MALFORMED_MESSAGES=drop`` logs and deletes them instead.

All activity records of an invocation are written together (sObject Collections of ≤ 200),
so a batch of 100 events costs one or two Salesforce calls, plus the bulk directory reload
every ``directory_refresh_s`` while the container stays warm.

Environment (``deploy/lambda/.env.dist`` lists them all): ``CANVAS_URL``, ``CANVAS_TOKEN``,
``SALESFORCE_USER``, ``SALESFORCE_PASSWORD``, ``SALESFORCE_SECURITY_TOKEN``,
``SALESFORCE_CONSUMER_KEY``, ``SALESFORCE_CONSUMER_SECRET``, ``SALESFORCE_DOMAIN`` (``login``
or ``test``) or ``SALESFORCE_LOGIN_URL``, ``LIVE_EVENTS_TIMEZONE``, ``LIVE_EVENTS_CONFIG`` (an
optional YAML file with a ``live_events:`` section), ``MALFORMED_MESSAGES``, ``LOG_LEVEL``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from canvasbridge.errors import ConfigError
from canvasbridge.live_events.caliper import CaliperError
from canvasbridge.live_events.naming import UnmappedEventError
from canvasbridge.live_events.processor import LiveEventProcessor
from canvasbridge.live_events.settings import LiveEventsSettings

log = logging.getLogger("canvasbridge.live_events.lambda")

_processor: LiveEventProcessor | None = None


def _configure_logging(environ: Mapping[str, str]) -> None:
    level = environ.get("LOG_LEVEL", "INFO").upper()
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(levelname)s %(name)s %(message)s")
    root.setLevel(getattr(logging, level, logging.INFO))


def settings_from_env(environ: Mapping[str, str]) -> tuple[LiveEventsSettings, Any, Any]:
    """(live_events settings, CanvasSettings, SalesforceSettings) from the environment."""
    import yaml

    from canvasbridge.clients.canvas import CanvasSettings
    from canvasbridge.clients.salesforce import SalesforceSettings

    section: dict[str, Any] = {}
    config_path = environ.get("LIVE_EVENTS_CONFIG")
    if config_path:
        loaded: dict[str, Any] = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
        section = dict(loaded.get("live_events") or loaded)
    if environ.get("LIVE_EVENTS_TIMEZONE"):
        section["timezone"] = environ["LIVE_EVENTS_TIMEZONE"]
    try:
        live = LiveEventsSettings.model_validate(section)
        canvas = None
        if environ.get("CANVAS_URL"):
            canvas = CanvasSettings.model_validate(
                {
                    "base_url": environ["CANVAS_URL"].removesuffix("/").removesuffix("/api/v1"),
                    "token": {"env": "CANVAS_TOKEN"},
                }
            )
        domain = environ.get("SALESFORCE_DOMAIN", "login")
        salesforce = SalesforceSettings.model_validate(
            {
                "login_url": environ.get("SALESFORCE_LOGIN_URL") or f"https://{domain}.salesforce.com",
                "username": environ.get("SALESFORCE_USER"),
                "password": {"env": "SALESFORCE_PASSWORD"},
                "security_token": {"env": "SALESFORCE_SECURITY_TOKEN"}
                if environ.get("SALESFORCE_SECURITY_TOKEN") is not None
                else None,
                "consumer_key": environ.get("SALESFORCE_CONSUMER_KEY"),
                "consumer_secret": {"env": "SALESFORCE_CONSUMER_SECRET"},
                "plain_http": environ.get("SALESFORCE_PLAIN_HTTP", "").lower() == "true",
            }
        )
    except ValueError as exc:
        raise ConfigError(f"Lambda configuration is invalid: {exc}") from exc
    return live, canvas, salesforce


def build_from_env(environ: Mapping[str, str] | None = None) -> LiveEventProcessor:
    from canvasbridge.live_events.runtime import build_processor

    environ = os.environ if environ is None else environ
    live, canvas, salesforce = settings_from_env(environ)
    return build_processor(
        live, canvas=canvas.build() if canvas else None, salesforce=salesforce.build(), background=False
    )


def _attributes(record: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in (record.get("messageAttributes") or {}).items():
        if isinstance(value, Mapping):
            text = value.get("stringValue", value.get("StringValue"))
            if isinstance(text, str):
                found[name] = text
    return found


def handle_batch(
    processor: LiveEventProcessor, event: Mapping[str, Any], *, drop_malformed: bool = False
) -> dict[str, Any]:
    """Process one SQS batch; the partial batch response."""
    started = time.perf_counter()
    failed: list[str] = []
    waiting: list[tuple[str, list[Any]]] = []
    records = event.get("Records") or []
    for record in records:
        message_id = str(record.get("messageId", ""))
        receive_count = str((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
        try:
            outcomes = processor.submit_body(
                record.get("body", ""),
                _attributes(record),
                maybe_written=receive_count.isdigit() and int(receive_count) > 1,
                token=message_id,
            )
        except (CaliperError, UnmappedEventError) as exc:
            if drop_malformed:
                log.error("dropping message %s: %s", message_id, exc)
            else:
                log.error(
                    "failing message %s (it goes to the dead-letter queue after its retries): %s",
                    message_id,
                    exc,
                )
                failed.append(message_id)
            continue
        except Exception as exc:
            log.error("message %s failed: %s: %s", message_id, type(exc).__name__, exc)
            failed.append(message_id)
            continue
        waiting.append((message_id, [outcome.ticket for outcome in outcomes if outcome.ticket is not None]))
    if processor.writer is not None:
        processor.writer.flush()
    for message_id, tickets in waiting:
        errors = [ticket.error for ticket in tickets if ticket.error is not None or not ticket.done]
        if errors:
            log.error("message %s failed: %s", message_id, errors[0])
            failed.append(message_id)
    log.info(
        "batch of %d: %d failed in %.0f ms; totals %s",
        len(records),
        len(failed),
        (time.perf_counter() - started) * 1000,
        dict(processor.counts),
    )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def lambda_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point (the processor is built once per container, on first use)."""
    global _processor
    _configure_logging(os.environ)
    if _processor is None:
        _processor = build_from_env()
    drop = os.environ.get("MALFORMED_MESSAGES", "fail").lower() == "drop"
    return handle_batch(_processor, event, drop_malformed=drop)
