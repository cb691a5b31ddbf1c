import pytest

from canvasbridge.engine.config import load_config, parse_config
from canvasbridge.errors import ConfigError


def test_embedded_defaults_need_no_file(monkeypatch):
    monkeypatch.delenv("CANVASBRIDGE_CONFIG", raising=False)
    config = load_config()
    assert config.backends.resolved_broker_url().startswith("sqla+sqlite:///")
    assert config.backends.resolved_ledger_url().startswith("sqlite:///")
    assert config.backends.embedded


def test_unknown_key_is_named_with_its_path():
    with pytest.raises(ConfigError) as caught:
        parse_config({"tasks": {"a": {"path": "x.y:z", "retyr": {}}}})
    assert "tasks.a.retyr: unknown key" in str(caught.value)


def test_unknown_top_level_section_is_named():
    with pytest.raises(ConfigError, match="rouets: unknown key"):
        parse_config({"rouets": []})


def test_invalid_regex_names_the_route_and_pattern():
    document = {
        "sources": [{"type": "file", "name": "replay", "path": "x.jsonl"}],
        "routes": [
            {"name": "r", "source": "replay", "match": {"routing_key": "(unclosed"}, "parser": "a.b:c"}
        ],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    assert "routes.0.match.routing_key" in str(caught.value)
    assert "(unclosed" in str(caught.value)


def test_route_to_an_unknown_source_is_refused():
    document = {
        "sources": [{"type": "file", "name": "replay", "path": "x.jsonl"}],
        "routes": [{"name": "r", "source": "nowhere", "parser": "a.b:c"}],
    }
    with pytest.raises(ConfigError, match="routes.0.source: unknown source 'nowhere'"):
        parse_config(document)


def test_task_path_must_be_an_import_path():
    with pytest.raises(ConfigError, match="tasks.a.path"):
        parse_config({"tasks": {"a": {"path": "not-a-path"}}})


def test_inline_secret_in_yaml_is_refused(tmp_path):
    file = tmp_path / "c.yaml"
    file.write_text("admin:\n  tokens:\n    - name: ops\n      token: plain-text-token\n")
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    message = str(caught.value)
    assert "admin.tokens.0.token" in message
    assert "plain-text-token" not in message


def test_broker_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CB_BROKER_PASSWORD", "p@ss/word")
    config = parse_config(
        {
            "backends": {
                "broker_url": "amqp://canvas@mq.example:5672/vhost",
                "broker_password": {"env": "CB_BROKER_PASSWORD"},
            }
        }
    )
    assert config.backends.resolved_broker_url() == "amqp://canvas:p%40ss%2Fword@mq.example:5672/vhost"


def test_bad_yaml_is_reported_with_the_file(tmp_path):
    file = tmp_path / "broken.yaml"
    file.write_text("tasks: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_config(file)


def test_retry_policy_falls_back_to_defaults():
    config = parse_config(
        {
            "task_defaults": {"retry": {"max_attempts": 9}},
            "tasks": {"a": {"path": "x.y:a"}, "b": {"path": "x.y:b", "retry": {"max_attempts": 2}}},
        }
    )
    assert config.retry_policy("a").max_attempts == 9
    assert config.retry_policy("b").max_attempts == 2


def test_a_clusters_nodes_are_several_broker_urls_each_given_the_password(monkeypatch):
    monkeypatch.setenv("CB_BROKER_PASSWORD", "s3cret")
    backends = parse_config(
        {
            "backends": {
                "broker_url": "amqp://canvas@mq1:5672/v; amqp://canvas@mq2:5672/v;amqp://canvas@mq3:5672/v",
                "broker_password": {"env": "CB_BROKER_PASSWORD"},
                "quorum_queue": True,
                "queue_delivery_limit": 20,
            }
        }
    ).backends
    assert backends.resolved_broker_url() == ";".join(f"amqp://canvas:s3cret@mq{n}:5672/v" for n in (1, 2, 3))
    assert backends.broker_is_rabbitmq
    assert backends.queue_arguments() == {"x-queue-type": "quorum", "x-delivery-limit": 20}


def test_failover_urls_must_all_be_rabbitmq_and_a_delivery_limit_needs_a_quorum_queue():
    with pytest.raises(ConfigError, match="must all be amqp:// URLs"):
        parse_config({"backends": {"broker_url": "amqp://mq1//;redis://mq2"}})
    with pytest.raises(ConfigError, match="queue_delivery_limit needs quorum_queue: true"):
        parse_config({"backends": {"broker_url": "amqp://mq1//", "queue_delivery_limit": 5}})
