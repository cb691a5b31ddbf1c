"""The Celery side: the app built from config, and publishing recorded calls onto it.

Every call runs through one Celery task, ``canvasbridge.execute``, which finds the
configured task function by name (see :mod:`canvasbridge.engine.worker`). Delivery
settings that matter for at-least-once:

* late acks, and reject (requeue) when a worker process dies mid-task;
* publisher confirms on AMQP, so a publish returns only once the broker has the message;
* no result backend: outcomes live in the ledger;
* no remote control, and a consumer that restarts after a channel error, so a worker
  failing over to another cluster node resumes (see docs/operations.md, "Scaling out").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from celery import Celery
from kombu.entity import Queue

from canvasbridge.engine import embedded_broker
from canvasbridge.engine.amqp_publisher import AmqpPublisher
from canvasbridge.engine.config import AppConfig
from canvasbridge.engine.ledger import RecordedCall

EXECUTE_TASK = "canvasbridge.execute"
PUBLISH_RETRY_POLICY = {"max_retries": 5, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 3.0}
log = logging.getLogger(__name__)


def create_celery(config: AppConfig, execute: Callable[..., Any]) -> Celery:
    """A Celery app for ``config`` whose single task ``canvasbridge.execute`` calls ``execute``."""
    backends = config.backends
    broker_url = embedded_broker.kombu_url(backends.resolved_broker_url())
    app = Celery("canvasbridge", set_as_current=False)
    transport_options: dict[str, Any] = {}
    if backends.broker_is_rabbitmq:
        transport_options["confirm_publish"] = True
    elif broker_url.startswith("redis"):
        transport_options["visibility_timeout"] = 3600
    queue_arguments = backends.queue_arguments()
    app.conf.update(
        broker_url=broker_url,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=backends.queue,
        task_queues=[
            Queue(  # type: ignore[no-untyped-call]
                backends.queue, routing_key=backends.queue, queue_arguments=queue_arguments
            )
        ],
        task_create_missing_queues=False,
        worker_prefetch_multiplier=config.worker.prefetch_multiplier,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=config.worker.send_task_events,
        # No remote control (nothing here uses inspect/control/broadcast): its per-node queue is
        # exclusive, and after a cluster node dies RabbitMQ still holds the dead connection's
        # copy for a moment, so the reconnecting worker's declare fails with RESOURCE_LOCKED.
        worker_enable_remote_control=False,
        # A channel error while the consumer (re)starts restarts it; by default Celery takes it
        # as an "Unrecoverable error" and the worker stops consuming.
        broker_channel_error_retry=True,
        worker_detect_quorum_queues=True,
        worker_consumer="canvasbridge.engine.celery_consumer:Consumer",  # see there
    )

    def execute_call(
        self: Any, call_id: int, task: str, params: dict[str, Any], correlation_id: str | None = None
    ) -> None:
        execute(self, call_id, task, params, correlation_id)

    app.task(
        name=EXECUTE_TASK,
        bind=True,
        shared=False,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=None,
    )(execute_call)
    return app


class Publisher:
    """Puts recorded calls on the Celery queue; returns only once the broker confirmed them.

    On RabbitMQ through :class:`.amqp_publisher.AmqpPublisher` (asynchronous confirms, many
    callers' messages in flight at once); on other brokers through Celery's ``send_task``.
    """

    def __init__(
        self,
        app: Celery,
        queue: str,
        *,
        amqp_url: str | None = None,
        queue_arguments: dict[str, Any] | None = None,
    ) -> None:
        """``amqp_url`` may name a cluster's nodes separated by ``;`` (failover)."""
        self.app = app
        self.queue = queue
        self._amqp: AmqpPublisher | None = None
        if amqp_url is not None:
            self._amqp = AmqpPublisher(
                amqp_url, queue, queue_arguments=queue_arguments, build=self._celery_message
            )

    def _celery_message(
        self, task_id: str, args: list[Any], kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any], Any]:
        headers, properties, body, _ = self.app.amqp.as_task_v2(
            task_id, EXECUTE_TASK, args=args, kwargs=kwargs
        )
        return headers, properties, body

    def publish(self, calls: Sequence[RecordedCall], *, correlation_id: str | None) -> None:
        self.publish_many([(calls, correlation_id)])

    def publish_many(self, groups: Sequence[tuple[Sequence[RecordedCall], str | None]]) -> None:
        """Publish groups of calls, each with its correlation id, and wait for all confirms."""
        if self._amqp is not None:
            amqp = self._amqp
            amqp.publish(
                [
                    amqp.message([call.id, call.task, call.params], {"correlation_id": correlation_id})
                    for calls, correlation_id in groups
                    for call in calls
                ]
            )
            return
        for calls, correlation_id in groups:
            for call in calls:
                self.app.send_task(
                    EXECUTE_TASK,
                    args=[call.id, call.task, call.params],
                    kwargs={"correlation_id": correlation_id},
                    queue=self.queue,
                    routing_key=self.queue,
                    retry=True,
                    retry_policy=PUBLISH_RETRY_POLICY,
                )
