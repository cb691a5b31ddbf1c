"""Canvas Live Events (IMS Caliper 1.1, on SQS) → Salesforce records (the Ambition design).

Two ways to run the same pipeline (see docs/live-events.md):

* engine: route SQS messages to ``canvasbridge.live_events.parser:parse`` and register the task
  ``record_live_event`` = ``canvasbridge.live_events.tasks:record_live_event``
  (examples/ambition.yaml);
* AWS Lambda: ``canvasbridge.live_events.lambda_handler.lambda_handler`` (deploy/lambda/).

Pieces, each usable alone::

    from canvasbridge.live_events.caliper import parse_envelope      # body → [CaliperEvent]
    from canvasbridge.live_events.naming import event_name           # event (+ SQS attributes) → "quiz_submitted"
    from canvasbridge.live_events.handlers import HANDLERS           # name → handler(event, name, ctx) → Activity
    from canvasbridge.live_events.rules import plan                  # Activity + directory → records, attendees
    from canvasbridge.live_events.writer import ActivityWriter       # batched, idempotent Salesforce writes
    from canvasbridge.live_events.runtime import build_processor     # all of it, wired from settings and clients
"""
