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
events. Each emulator's ``/_emulator/reset`` returns it to this seeded state.
"""

from __future__ import annotations

import datetime as dt
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
AWS_REGION = "us-east-1"
AWS_KEY = "testing"  # moto accepts any credentials


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
) -> Suite:
    """Build the university and start every emulator; stop them with :meth:`Suite.stop`.

    ``sources=False`` skips FS, Cerebrum and SAP (and the big university build);
    ``sqs=False`` skips moto's SQS server.
    """

    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    today = today or dt.date.today()
    activity = ActivityDataset.generate(size, seed, today=today)
    university = University.generate(size, seed) if sources else None
    suite = Suite(size, seed, today, university, activity)
    try:
        _start_canvas(suite, host)
        _start_salesforce(suite, host, salesforce_batch_size)
        if university is not None:
            _start_sources(suite, university, host, publish)
        if sqs:
            _start_sqs(suite, host)
    except BaseException:
        suite.stop()
        raise
    return suite


def _start_canvas(suite: Suite, host: str) -> None:
    from canvasbridge_emulators.canvas import DEFAULT_TOKEN, create_app

    emulator = create_app(seed=suite.activity.load_canvas)
    server = ServerThread(emulator.app, host=host).start()
    suite.emulators["canvas"] = RunningEmulator(
        "canvas",
        server.url,
        {"token": DEFAULT_TOKEN},
        server,
        emulator.model,
        emulator.control,
        {"emulator": emulator},
    )


def _start_salesforce(suite: Suite, host: str, batch_size: int) -> None:
    from canvasbridge_emulators.salesforce import create_app

    app, model, control = create_app(today=suite.today, batch_size=batch_size)
    suite.activity.load_salesforce(model)
    model.mark_seed()
    server = ServerThread(app, host=host).start()
    c = model.credentials
    creds = {
        "username": c.username,
        "password": c.password,
        "security_token": c.security_token,
        "consumer_key": c.consumer_key,
        "consumer_secret": c.consumer_secret,
    }
    suite.emulators["salesforce"] = RunningEmulator("salesforce", server.url, creds, server, model, control)


def _start_sources(suite: Suite, university: University, host: str, publish: str | None) -> None:
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
        server = ServerThread(app, host=host).start()
        if publish and publish != "memory":
            creds = {**creds, "publishes_to": publish}
        suite.emulators[name] = RunningEmulator(
            name, server.url, creds, server, model, control, {"changes": changes, "publisher": publisher}
        )


class _MotoServer:
    def __init__(self, host: str) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per SQS request
        with socket.socket() as sock:
            sock.bind((host, 0))
            self.port = int(sock.getsockname()[1])
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)
        self._server.start()
        self.url = f"http://{host}:{self.port}"

    def stop(self) -> None:
        self._server.stop()


def _start_sqs(suite: Suite, host: str) -> None:
    import boto3

    server = _MotoServer(host)
    client = boto3.client(
        "sqs",
        endpoint_url=server.url,
        region_name=AWS_REGION,
        aws_access_key_id=AWS_KEY,
        aws_secret_access_key=AWS_KEY,
    )
    queue_url = client.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    creds = {"queue": queue_url, "region": AWS_REGION, "access_key": AWS_KEY, "secret_key": AWS_KEY}
    suite.emulators["sqs"] = RunningEmulator("sqs", server.url, creds, server, extra={"client": client})
