"""Run an AMQP source in a child process whose dispatch never returns (for kill tests).

Usage: ``python amqp_child.py '<AmqpSourceConfig as JSON>'``. Prints ``received <id>``
for each message it is handed, then blocks, so the parent can SIGKILL it mid-dispatch.
"""

from __future__ import annotations

import sys
import threading

from pydantic import TypeAdapter

from canvasbridge.engine import Envelope
from canvasbridge.engine.sources import SourceConfig, build_source


def main() -> None:
    config = TypeAdapter(SourceConfig).validate_json(sys.argv[1])
    never = threading.Event()

    def dispatch(envelope: Envelope) -> None:
        print(f"received {envelope.message_id}", flush=True)
        never.wait()

    build_source(config, dispatch).run(threading.Event())


if __name__ == "__main__":
    main()
