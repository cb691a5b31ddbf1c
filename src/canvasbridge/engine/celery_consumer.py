"""The Celery worker's consumer, less Celery's native delayed-delivery step.

On quorum queues Celery adds a step that, at every (re)connect, declares its delayed-delivery
exchanges and 28 queues through every broker URL and binds the task queues to them. The
canvasbridge task queue's exchange is a direct one, which that mechanism cannot serve (kombu
says so and binds nothing; a task retried with a countdown waits in a worker, as an ETA
task, with or without the step). So the step only costs: 28 idle quorum queues on the
cluster, and, after a node is lost, about 15 s of retrying that node's URL at each
reconnect, during which the worker runs nothing.
"""

from __future__ import annotations

from celery.worker.consumer import Consumer as CeleryConsumer

DELAYED_DELIVERY_STEP = "celery.worker.consumer.delayed_delivery:DelayedDelivery"


class Consumer(CeleryConsumer):  # type: ignore[misc]
    class Blueprint(CeleryConsumer.Blueprint):  # type: ignore[misc]
        default_steps = [
            step for step in CeleryConsumer.Blueprint.default_steps if step != DELAYED_DELIVERY_STEP
        ]
