import json
import logging

import pytest

from canvasbridge.engine.logging import ContextFilter, JsonFormatter, correlation, scrub, setup_logging
from canvasbridge.secrets import SecretRef


@pytest.fixture
def captured():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cb-test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, records
    logger.removeHandler(handler)


def test_every_line_inside_a_message_carries_its_correlation_id(captured):
    logger, records = captured
    with correlation("msg-42"):
        logger.info("routed")
        logger.warning("parked")
    logger.info("outside")
    lines = [json.loads(r) for r in records]
    assert [line["correlation_id"] for line in lines] == ["msg-42", "msg-42", "-"]
    assert lines[0]["message"] == "routed" and lines[0]["level"] == "INFO"


def test_resolved_secrets_and_credentials_never_reach_the_log(captured, monkeypatch):
    logger, records = captured
    monkeypatch.setenv("CB_LOG_TEST_TOKEN", "tok-9f8e7d6c5b4a")
    SecretRef(env="CB_LOG_TEST_TOKEN").resolve()
    logger.info("calling canvas with tok-9f8e7d6c5b4a")
    logger.info("headers: Authorization: Bearer abc.def.ghi")
    logger.info("url https://x/api?access_token=zzz123&per_page=10 password=hunter22")
    text = "\n".join(records)
    for secret in ("tok-9f8e7d6c5b4a", "abc.def.ghi", "zzz123", "hunter22"):
        assert secret not in text
    assert "per_page=10" in text


def test_scrub_keeps_ordinary_text():
    assert scrub("ensure_user olan succeeded") == "ensure_user olan succeeded"


def test_log_level_from_the_environment_wins(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "debug")
    setup_logging("text", "ERROR")
    assert logging.getLogger().level == logging.DEBUG
    monkeypatch.delenv("LOG_LEVEL")
    setup_logging("text", "WARNING")
    assert logging.getLogger().level == logging.WARNING
