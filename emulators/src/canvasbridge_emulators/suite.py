"""All five emulators with one generated university, plus SQS on moto's server, on loopback ports.

    with start_suite("small", seed=1) as suite:
        for line in suite.lines():
            print(line)                   # canvas  http://127.0.0.1:PORT  token=…
        suite["salesforce"].model         # the SalesforceModel, seeded with the Ambition org
        suite.send_live_events(100, rate=50)    # Caliper envelopes into the SQS queue

Canvas holds the activity dataset's users, courses and enrollments (the provisioning flow
fills in the rest from FS, Cerebrum and SAP); Salesforce holds the Ambition org whose
``LMS_Course_Id__c`` are those Canvas course ids; FS, Cerebrum and SAP serve the synthetic
university and publish change notifications to ``publish`` (``memory``, ``amqp://…`` or
``http(s)://…``). The SQS queue ``canvas-live-events`` is where Canvas would deliver live
events; ``POST {canvas}/_emulator/live-events`` (``{"count": 100, "rate": 50}``) sends generated
ones into it while the suite runs. Each emulator's ``/_emulator/reset`` returns it to this
seeded state. With ``port_base`` the ports are fixed: see :data:`PORT_OFFSETS`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from canvasbridge_emulators.common import EmulatorControl, ServerThread
from canvasbridge_emulators.university import University
from canvasbridge_emulators.university.activity import ActivityDataset

SIZES = ("tiny", "small", "university")
QUEUE_NAME = "canvas-live-events"  # Canvas requires queue names starting with this
DLQ_NAME = "canvas-live-events-dead-letters"
MAX_RECEIVE_COUNT = 5  # receives before SQS moves a message to the dead-letter queue
AWS_REGION = "us-east-1"
AWS_KEY = "testing"  # moto accepts any credentials
#: with ``port_base=N`` each emulator listens on N + its offset, the same at every start
PORT_OFFSETS = {"canvas": 0, "salesforce": 1, "fs": 2, "cerebrum": 3, "sap": 4, "sqs": 5}
LIVE_EVENTS_PATH = "/_emulator/live-events"
MAX_LIVE_EVENTS_PER_REQUEST = 100_000  # one POST /_emulator/live-events sends at most this many


@dataclass
class RunningEmulator:
    name: str
    url: str
    credentials: dict[str, str]
    server: Any  # ServerThread, or moto's ThreadedMotoServer for sqs
    model: Any = None
    control: EmulatorControl | None = None
    extra: dict[str, Any] = field(
        default_factory=dict
    )  # e.g. "changes" (source systems), "emulator" (canvas)

    def line(self) -> str:
        creds = "  ".join(f"{k}={v}" for k, v in self.credentials.items())
        return f"{self.name:<11} {self.url}  {creds}".rstrip()


@dataclass
class Suite:
    size: str
    seed: int
    today: dt.date
    university: University | None
    activity: ActivityDataset
    emulators: dict[str, RunningEmulator] = field(default_factory=dict)
    _stopped: bool = False

    def __getitem__(self, name: str) -> RunningEmulator:
        return self.emulators[name]

    def lines(self) -> list[str]:
        """One line per emulator: name, base URL, credentials."""

        return [e.line() for e in self.emulators.values()]

    def urls(self) -> dict[str, str]:
        return {name: e.url for name, e in self.emulators.items()}

    @property
    def queue_url(self) -> str | None:
        sqs = self.emulators.get("sqs")
        return sqs.credentials["queue"] if sqs else None

    def live_events(self, seed: int | None = None, **options: Any) -> Any:
        """A :class:`LiveEventGenerator` over this suite's activity: the sensor is the Canvas
        emulator, whose model receives the submissions the events are about."""

        from canvasbridge_emulators.caliper_feed import LiveEventGenerator, Site

        canvas = self.emulators.get("canvas")
        host = canvas.url.split("://", 1)[1] if canvas else "canvas.example.edu"
        options.setdefault("canvas", canvas.model if canvas else None)
        return LiveEventGenerator(
            self.activity, seed=self.seed if seed is None else seed, site=Site(host=host), **options
        )

    def send_live_events(
        self,
        count: int | None,
        *,
        rate: float | None = None,
        seed: int | None = None,
        stop: threading.Event | None = None,
    ) -> int:
        """Put ``count`` generated events (endless when ``None``) into the SQS queue at ``rate``/s."""

        from canvasbridge_emulators.caliper_feed import SqsSink, emit

        sqs = self.emulators["sqs"]
        sink = SqsSink(sqs.credentials["queue"], endpoint_url=sqs.url, region_name=AWS_REGION)
        return emit(self.live_events(seed).events(count), sink, rate=rate, should_stop=stop)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for emulator in reversed(list(self.emulators.values())):
            try:
                emulator.server.stop()
            except Exception:  # noqa: S112  (best effort: stop the others too)
                continue

    def __enter__(self) -> Suite:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_suite(
    size: str = "small",
    seed: int = 1,
    *,
    today: dt.date | None = None,
    publish: str | None = "memory",
    sources: bool = True,
    sqs: bool = True,
    host: str = "127.0.0.1",
    salesforce_batch_size: int = 2000,
    port_base: int | None = None,
) -> Suite:
    """Build the university and start every emulator; stop them with :meth:`Suite.stop`.

    ``sources=False`` skips FS, Cerebrum and SAP (and the big university build);
    ``sqs=False`` skips moto's SQS server; ``port_base`` fixes the ports (see
    :data:`PORT_OFFSETS`), otherwise each emulator takes a free one.
    """

    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if port_base is not None and not 1024 <= port_base <= 65535 - max(PORT_OFFSETS.values()):
        raise ValueError(
            f"port_base {port_base} is out of range (1024 to {65535 - max(PORT_OFFSETS.values())})"
        )

    def port(name: str) -> int:
        return 0 if port_base is None else port_base + PORT_OFFSETS[name]

    today = today or dt.date.today()
    activity = ActivityDataset.generate(size, seed, today=today)
    university = University.generate(size, seed) if sources else None
    suite = Suite(size, seed, today, university, activity)
    try:
        _start_canvas(suite, host, port("canvas"))
        _start_salesforce(suite, host, salesforce_batch_size, port("salesforce"))
        if university is not None:
            _start_sources(suite, university, host, publish, port)
        if sqs:
            _start_sqs(suite, host, port("sqs"))
    except BaseException:
        suite.stop()
        raise
    return suite


def _start_canvas(suite: Suite, host: str, port: int) -> None:
    from canvasbridge_emulators.canvas import DEFAULT_TOKEN, create_app

    emulator = create_app(seed=suite.activity.load_canvas)
    server = ServerThread(_with_live_events_route(emulator.app, suite), host=host, port=port).start()
    suite.emulators["canvas"] = RunningEmulator(
        "canvas",
        server.url,
        {"token": DEFAULT_TOKEN},
        server,
        emulator.model,
        emulator.control,
        {"emulator": emulator},
    )


def _with_live_events_route(canvas: Any, suite: Suite) -> Any:
    """The Canvas emulator's ASGI app plus ``POST /_emulator/live-events``: generated events
    into SQS, as Canvas would deliver them; ``{"count": N, "rate": R}`` (events per second,
    optional). The suite adds it because only the suite has both the generator and SQS."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def post(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        count = body.get("count") if isinstance(body, dict) else None
        rate = body.get("rate") if isinstance(body, dict) else None
        if not isinstance(count, int) or not 1 <= count <= MAX_LIVE_EVENTS_PER_REQUEST:
            return JSONResponse(
                {"error": f"'count' must be a whole number from 1 to {MAX_LIVE_EVENTS_PER_REQUEST}"},
                status_code=400,
            )
        if rate is not None and (not isinstance(rate, int | float) or rate <= 0):
            return JSONResponse(
                {"error": "'rate' must be a positive number of events per second"}, status_code=400
            )
        if "sqs" not in suite.emulators:
            return JSONResponse({"error": "this suite runs without SQS"}, status_code=409)
        sent = await run_in_threadpool(suite.send_live_events, count, rate=rate)
        return JSONResponse({"sent": sent, "queue": suite.queue_url})

    live_events = Starlette(routes=[Route(LIVE_EVENTS_PATH, post, methods=["POST"])])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        target = live_events if scope["type"] == "http" and scope["path"] == LIVE_EVENTS_PATH else canvas
        await target(scope, receive, send)

    return app


def _start_salesforce(suite: Suite, host: str, batch_size: int, port: int) -> None:
    from canvasbridge_emulators.salesforce import create_app

    app, model, control = create_app(today=suite.today, batch_size=batch_size)
    suite.activity.load_salesforce(model)
    model.mark_seed()
    server = ServerThread(app, host=host, port=port).start()
    c = model.credentials
    creds = {
        "username": c.username,
        "password": c.password,
        "security_token": c.security_token,
        "consumer_key": c.consumer_key,
        "consumer_secret": c.consumer_secret,
    }
    suite.emulators["salesforce"] = RunningEmulator("salesforce", server.url, creds, server, model, control)


def _start_sources(suite: Suite, university: University, host: str, publish: str | None, port: Any) -> None:
    from canvasbridge_emulators.notify import publisher_for

    factories: list[tuple[str, str, Any]] = []
    try:
        from canvasbridge_emulators.fs import create_app as fs_app
        from canvasbridge_emulators.fs.models import DEFAULT_PASSWORD

        factories.append(
            (
                "fs",
                "fs",
                lambda p: (fs_app(university, publisher=p), {"username": "fs", "password": DEFAULT_PASSWORD}),
            )
        )
    except ImportError:  # pragma: no cover - the FS emulator is optional
        pass
    try:
        from canvasbridge_emulators.cerebrum import DEFAULT_API_KEY as CEREBRUM_KEY
        from canvasbridge_emulators.cerebrum import create_app as cerebrum_app
        from canvasbridge_emulators.cerebrum.models import DEFAULT_API_KEY_HEADER

        factories.append(
            (
                "cerebrum",
                "cerebrum",
                lambda p: (
                    cerebrum_app(university, publisher=p),
                    {"api_key": CEREBRUM_KEY, "header": DEFAULT_API_KEY_HEADER},
                ),
            )
        )
    except ImportError:  # pragma: no cover
        pass
    try:
        from canvasbridge_emulators.sap import DEFAULT_API_KEY as SAP_KEY
        from canvasbridge_emulators.sap import create_app as sap_app
        from canvasbridge_emulators.sap.responses import API_KEY_HEADER

        factories.append(
            (
                "sap",
                "sap",
                lambda p: (sap_app(university, publisher=p), {"api_key": SAP_KEY, "header": API_KEY_HEADER}),
            )
        )
    except ImportError:  # pragma: no cover
        pass
    for name, system, factory in factories:
        publisher = publisher_for(publish, system)
        (app, model, control, changes), creds = factory(publisher)
        server = ServerThread(app, host=host, port=port(name)).start()
        if publish and publish != "memory":
            creds = {**creds, "publishes_to": publish}
        if getattr(publisher, "exchange", None):
            creds = {**creds, "exchange": publisher.exchange}
        suite.emulators[name] = RunningEmulator(
            name, server.url, creds, server, model, control, {"changes": changes, "publisher": publisher}
        )


class _MotoServer:
    def __init__(self, host: str, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per SQS request
        if port:
            self.port = port
        else:
            with socket.socket() as sock:
                sock.bind((host, 0))
                self.port = int(sock.getsockname()[1])
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)
        self._server.start()
        self.url = f"http://{host}:{self.port}"

    def stop(self) -> None:
        self._server.stop()


def _start_sqs(suite: Suite, host: str, port: int) -> None:
    import boto3

    server = _MotoServer(host, port)
    client = boto3.client(
        "sqs",
        endpoint_url=server.url,
        region_name=AWS_REGION,
        aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_KEY,
    )
    # as a production queue should be: a message received too often moves to a dead-letter queue
    dlq_url = client.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    queue_url = client.create_queue(QueueName=QUEUE_NAME, Attributes={"RedrivePolicy": json.dumps(redrive)})[
        "QueueUrl"
    ]
    creds = {
        "queue": queue_url,
        "dead_letter_queue": dlq_url,
        "region": AWS_REGION,
        "access_key": AWS_KEY,
        "secret_key": AWS_KEY,
    }
    suite.emulators["sqs"] = RunningEmulator("sqs", server.url, creds, server, extra={"client": client})
