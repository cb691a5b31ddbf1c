"""Everything the engine needs, built from one :class:`AppConfig`, in one object.

    runtime = Runtime(load_config("canvasbridge.yaml"))
    runtime.enqueue([TaskCall("ensure_user", {"username": "olan"})])   # queue work directly
    runtime.consume(stop_event)                                         # run the configured sources
    runtime.run_worker()                                                # run a Celery worker (blocks)
    with runtime.in_process_worker():                                   # a real worker in a thread
        ...

The ledger is opened lazily once per process (a forked worker opens its own).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from celery import Celery
from celery.signals import worker_process_shutdown

from canvasbridge.engine import metrics, metrics_files
from canvasbridge.engine.batch_collector import BatchCollector
from canvasbridge.engine.batch_tasks import item_origin
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import AppConfig
from canvasbridge.engine.dispatch import Dispatcher
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.janitor import LedgerJanitor
from canvasbridge.engine.ledger import CallState, Ledger, RecordedCall, Recording
from canvasbridge.engine.middleware import Middleware
from canvasbridge.engine.queue import Publisher, create_celery
from canvasbridge.engine.registry import TaskRegistry
from canvasbridge.engine.routing import Router
from canvasbridge.engine.sources import Source, build_source
from canvasbridge.engine.worker import Executor

log = logging.getLogger(__name__)
IN_PROCESS_SHUTDOWN_S = 30.0  # longest wait for an in-process worker's running tasks at exit


def default_node_name() -> str:
    """``canvasbridge-<pid>@%h``: unique among the running workers of a host, and ``%h`` (the
    host's name, expanded by Celery) tells the hosts apart. Celery's own default,
    ``celery@%h``, would make a host's workers one worker in task events (Flower)."""
    return f"canvasbridge-{os.getpid()}@%h"


class Runtime:
    def __init__(self, config: AppConfig, *, middleware: Sequence[Middleware] | None = None) -> None:
        """``middleware``: the worker's (default :func:`~.middleware.default_middleware`)."""
        self.config = config
        self.registry = TaskRegistry(config.tasks)
        self.resources: dict[str, Any] = {}
        self._ledger: Ledger | None = None
        self._ledger_pid = 0
        self._ledger_lock = threading.Lock()
        self.executor = Executor(config, self.registry, self.ledger, self.resources, middleware)
        self.celery: Celery = create_celery(config, self.executor)
        backends = config.backends
        # TLS settings are not handed to pika yet: amqps:// brokers keep Celery's send_task.
        plain_rabbitmq = backends.broker_is_rabbitmq and not (backends.broker_url or "").startswith("amqps")
        self.publisher = Publisher(
            self.celery,
            backends.queue,
            amqp_url=backends.resolved_broker_url() if plain_rabbitmq else None,
            queue_arguments=backends.queue_arguments(),
        )
        self._router: Router | None = None
        self._owed: dict[int, RecordedCall] = {}
        self._owed_lock = threading.Lock()
        self._collectors = {
            name: BatchCollector(name, spec.batch, self._enqueue_batch)
            for name, spec in config.tasks.items()
            if spec.batch is not None
        }

    # -- shared pieces ---------------------------------------------------------------

    def ledger(self) -> Ledger:
        """This process's ledger, opened (and migrated) on first use."""
        with self._ledger_lock:
            if self._ledger is None or self._ledger_pid != os.getpid():
                self._ledger = Ledger.open(
                    self.config.backends.resolved_ledger_url(),
                    presume_lost_after_s=self.config.worker.presume_lost_after_s,
                )
                self._ledger_pid = os.getpid()
            return self._ledger

    @property
    def router(self) -> Router:
        if self._router is None:
            self._router = Router.from_specs(self.config.routes, self.config.flow_sections())
        return self._router

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(
            self.router,
            ledger=self.ledger,
            enqueue=self.enqueue_many,
            known_tasks=lambda name: name in self.registry,
            unmatched=self.config.unmatched,
        )

    # -- queueing --------------------------------------------------------------------

    def enqueue(
        self,
        calls: Sequence[TaskCall],
        *,
        origin: Envelope | None = None,
        correlation_id: str | None = None,
    ) -> list[RecordedCall]:
        """Record ``calls`` (folding duplicates of pending ones) and publish the new ones.

        Returns once the broker confirmed every new call. If publishing fails, the calls
        nobody folded into are removed again and the error propagates, so the caller can
        leave its message for redelivery.
        """
        return self.enqueue_many([Recording(calls, origin, correlation_id)])[0]

    def enqueue_many(self, recordings: Sequence[Recording]) -> list[list[RecordedCall]]:
        """:meth:`enqueue` for the calls of many messages at once: one ledger write, one wait
        for the broker's confirms. All or nothing: if publishing fails, every message of the
        batch is to be redelivered."""
        for recording in recordings:
            for requested in recording.calls:
                self.registry.spec(requested.task)  # unknown task names fail before anything is written
        recordings = [
            replace(r, correlation_id=r.correlation_id or (r.origin.message_id if r.origin else None))
            for r in recordings
        ]
        if not self._collectors:
            return self._record_and_publish(recordings)
        return self._enqueue_with_batches(recordings)

    def _enqueue_with_batches(self, recordings: Sequence[Recording]) -> list[list[RecordedCall]]:
        """Calls of batch tasks go to their collectors as items, after the others are queued;
        returns once the batches holding them are queued too (each message's batch calls
        follow its other calls)."""
        plain = [replace(r, calls=[c for c in r.calls if c.task not in self._collectors]) for r in recordings]
        recorded = self._record_and_publish(plain) if any(r.calls for r in plain) else [[] for _ in plain]
        held: dict[str, list[Any]] = {}
        holders: list[list[Any]] = []  # the batches holding each message's items
        for recording in recordings:
            items: dict[str, list[tuple[TaskCall, dict[str, Any]]]] = {}
            for call in recording.calls:
                if call.task in self._collectors:
                    origin = item_origin(recording.origin, recording.correlation_id)
                    items.setdefault(call.task, []).append((call, origin))
            mine = []
            for task, task_items in items.items():
                batches = self._collectors[task].add(task_items)
                held.setdefault(task, []).extend(batches)
                mine += batches
            holders.append(mine)
        calls: dict[int, RecordedCall] = {}
        failure: Exception | None = None
        for task, batches in held.items():
            unique = list({id(batch): batch for batch in batches}.values())
            try:  # wait for every batch even after one failed: none is left without a waiter
                for batch, queued_batch in zip(unique, self._collectors[task].wait(unique), strict=True):
                    calls[id(batch)] = queued_batch
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        for queued, mine in zip(recorded, holders, strict=True):
            seen: set[int] = set()
            for batch in mine:
                batch_call = calls[id(batch)]
                if batch_call.id not in seen:
                    seen.add(batch_call.id)
                    queued.append(batch_call)
        return recorded

    def _enqueue_batch(self, call: TaskCall) -> RecordedCall:
        """Record and publish one batch call (a collector's flush)."""
        [[recorded]] = self._record_and_publish([Recording([call])])
        return recorded

    def _record_and_publish(self, recordings: Sequence[Recording]) -> list[list[RecordedCall]]:
        recorded = self.ledger().record_many(recordings)
        fresh: dict[int, tuple[RecordedCall, str | None]] = {}
        for recording, calls in zip(recordings, recorded, strict=True):
            # A message delivered before may have had its calls recorded by a consumer that
            # died before publishing them: publish a queued call it folds into once more. A
            # duplicate Celery message is harmless (a finished or running call is skipped).
            redelivered = recording.origin is not None and recording.origin.delivery_count > 1
            for call in calls:
                if call.folded:
                    metrics.TASKS_FOLDED.labels(call.task).inc()
                if call.id not in fresh and (
                    not call.folded or (redelivered and call.state is CallState.QUEUED)
                ):
                    fresh[call.id] = (call, recording.correlation_id)
        self._publish_owed()
        try:
            self.publisher.publish_many([([call], correlation) for call, correlation in fresh.values()])
        except Exception:
            kept = self.ledger().forget(fresh)
            with self._owed_lock:
                self._owed.update({call_id: fresh[call_id][0] for call_id in kept})
            raise
        for call, _ in fresh.values():
            metrics.TASKS_QUEUED.labels(call.task).inc()
        return recorded

    def _publish_owed(self) -> None:
        """Publish calls whose first publish failed after another message folded into them."""
        with self._owed_lock:
            owed, self._owed = self._owed, {}
        if not owed:
            return
        try:
            self.publisher.publish(list(owed.values()), correlation_id=None)
        except Exception:
            with self._owed_lock:
                self._owed.update(owed)
            raise

    def requeue(self, call_id: int) -> RecordedCall:
        """Queue a dead or discarded call again as a new attempt chain."""
        ledger = self.ledger()
        old = ledger.get(call_id)
        if old is None:
            raise KeyError(call_id)
        recorded = ledger.requeue(call_id)
        if not recorded.folded:
            try:
                self.publisher.publish([recorded], correlation_id=old.correlation_id)
            except Exception:
                # so the call can be requeued again later
                ledger.forget([recorded.id])
                ledger.undo_requeue(call_id, recorded.id, old.state)
                raise
        return recorded

    # -- processes -------------------------------------------------------------------

    def consume(self, stop: threading.Event, *, only: Sequence[str] | None = None) -> None:
        """Run the configured sources (or those named in ``only``) until ``stop`` is set."""
        dispatch = self.dispatcher()
        configs = [s for s in self.config.sources if only is None or s.name in only]
        if not configs:
            raise ValueError("no sources to consume from: configure 'sources' (or check the names given)")
        failures: list[BaseException] = []
        keep_days = self.config.backends.keep_finished_days
        if keep_days is not None:
            LedgerJanitor(self.ledger(), keep_days).start(stop)

        def run(source: Source) -> None:
            try:
                source.run(stop)
            except BaseException as exc:  # one failed source stops the others, then the process
                log.error("source %s stopped: %s", source.name, exc)
                failures.append(exc)
                stop.set()

        threads = []
        for source_config in configs:
            source = build_source(source_config, dispatch)
            thread = threading.Thread(target=run, args=(source,), name=f"source:{source.name}", daemon=True)
            thread.start()
            threads.append(thread)
            log.info("consuming from %s (%s)", source.name, source_config.type)
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]

    def worker_argv(
        self, *, concurrency: int | None = None, pool: str | None = None, hostname: str | None = None
    ) -> list[str]:
        """Celery's worker arguments; the node name is unique per process unless one is given
        (Celery expands ``%h``, ``%n`` and ``%d``), so any number of workers share a broker.
        Celery's banner is left out (``--quiet``): it advises ``-E``, which is
        ``worker.send_task_events`` here; :meth:`run_worker` logs what the banner said."""
        worker = self.config.worker
        return [
            "--quiet",
            "worker",
            f"--hostname={hostname or default_node_name()}",
            f"--concurrency={concurrency or worker.concurrency}",
            f"--pool={pool or worker.pool}",
            f"--queues={self.config.backends.queue}",
            "--without-gossip",
            "--without-mingle",
            # with task events on, the worker's heartbeat events tell Flower it is online
            *([] if worker.send_task_events else ["--without-heartbeat"]),
            f"--loglevel={self.config.log.level}",
        ]

    def run_worker(
        self, *, concurrency: int | None = None, pool: str | None = None, hostname: str | None = None
    ) -> None:
        """Run a Celery worker in this process until it is told to stop (SIGTERM)."""
        self.registry.load_all()
        argv = self.worker_argv(concurrency=concurrency, pool=pool, hostname=hostname)
        worker_process_shutdown.connect(_pool_child_stopped, weak=False)
        log.info(
            "worker starting: %s; tasks %s; task events %s (worker.send_task_events)",
            " ".join(
                arg for arg in argv if arg.startswith(("--hostname", "--concurrency", "--pool", "--queues"))
            ),
            ", ".join(sorted(self.config.tasks)),
            "on" if self.config.worker.send_task_events else "off",
        )
        self.celery.worker_main(argv)

    @contextlib.contextmanager
    def in_process_worker(self, *, concurrency: int = 2, pool: str = "threads") -> Iterator[None]:
        """A real Celery worker in a thread of this process, on the configured broker."""
        from celery.contrib.testing.worker import start_worker

        self.registry.load_all()
        with start_worker(
            self.celery,
            pool=pool,
            concurrency=concurrency,
            perform_ping_check=False,
            shutdown_timeout=IN_PROCESS_SHUTDOWN_S,
            loglevel=self.config.log.level,
        ) as worker:
            try:
                yield
            finally:
                wake_for_shutdown(worker)


def _pool_child_stopped(pid: int | None = None, **_: Any) -> None:
    """A prefork pool child stops: its counters join the archive (it runs no ``atexit``)."""
    metrics_files.process_ended(pid=pid)


def wake_for_shutdown(worker: Any) -> None:
    """Ask an in-process worker to stop, and wake its event loop to see it at once: asleep, it
    polls for up to 10 s (kombu's longest timer wait), which on RabbitMQ ran into the join
    timeout and failed the shutdown."""
    from celery.worker import state

    state.should_terminate = 0
    hub = getattr(worker, "hub", None)
    if hub is not None:
        hub.call_soon(lambda: None)
