"""``canvasbridge config check FILE``: valid files exit 0 and show the plan; invalid ones exit 2 naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import document, invoke


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def write(tmp_path: Path, **overrides: object) -> Path:
    path = tmp_path / "check.yaml"
    path.write_text(yaml.safe_dump(document(tmp_path, **overrides)))
    return path


def test_a_valid_file_prints_what_it_would_start_and_secrets_only_by_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CB_CLI_TEST_TOKEN", "very-secret-operator-token-value")
    monkeypatch.delenv("CB_CLI_CANVAS_TOKEN", raising=False)
    result = invoke("config", "check", str(write(tmp_path)))
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in (
        "replay",
        "file",
        "tests.engine.sample_tasks:parse_json",
        "thing → key",
        "(embedded)",
        "ops (operate, env:CB_CLI_TEST_TOKEN)",
    ):
        assert text in out, text
    assert "systems.canvas.token" in out and "env:CB_CLI_CANVAS_TOKEN" in out and "MISSING" in out
    assert "very-secret-operator-token-value" not in result.output
    assert "valid (1 secret(s) missing here)" in out


def test_require_secrets_turns_a_missing_secret_into_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CB_CLI_CANVAS_TOKEN", raising=False)
    monkeypatch.delenv("CB_CLI_TEST_TOKEN", raising=False)
    result = invoke("config", "check", str(write(tmp_path)), "--require-secrets")
    assert result.exit_code == 2
    assert "admin.tokens.0.token (env:CB_CLI_TEST_TOKEN)" in result.stderr


def test_an_engine_error_names_the_key_without_a_traceback(tmp_path: Path) -> None:
    result = invoke("config", "check", str(write(tmp_path, worker={"concurrency": 0})))
    assert result.exit_code == 2
    assert "worker.concurrency" in result.stderr
    assert "Traceback" not in result.output


def test_a_flow_section_is_checked_by_its_own_settings_model(tmp_path: Path) -> None:
    result = invoke("config", "check", str(write(tmp_path, provisioning={"users": {"sis_user_idd": "x"}})))
    assert result.exit_code == 2
    assert "provisioning.users.sis_user_idd: unknown key" in result.stderr


def test_a_sis_id_template_without_fixed_text_is_valid_but_warned_about(tmp_path: Path) -> None:
    bare = {"users": {"sis_user_id": "{username}"}, "accounts": {"sis_account_id": "OU_{code}"}}
    result = invoke("config", "check", str(write(tmp_path, provisioning=bare)))
    assert result.exit_code == 0, result.output
    assert "warning: provisioning.users.sis_user_id: '{username}' has no fixed text" in result.output
    assert "accounts.sis_account_id" not in result.output.split("warning:", 1)[1]
    fixed = {"users": {"sis_user_id": "{username}@uio.no"}}
    result = invoke("config", "check", str(write(tmp_path, provisioning=fixed)))
    assert result.exit_code == 0 and "warning:" not in result.output


def test_import_paths_that_do_not_import_are_named(tmp_path: Path) -> None:
    tasks = {"ghost": {"path": "tests.engine.sample_tasks:no_such_task"}}
    result = invoke("config", "check", str(write(tmp_path, tasks=tasks)))
    assert result.exit_code == 2
    assert (
        "tasks.ghost.path: module 'tests.engine.sample_tasks' has no attribute 'no_such_task'"
        in result.stderr
    )


def test_inline_secrets_are_refused(tmp_path: Path) -> None:
    admin = {"tokens": [{"name": "ops", "token": "inline-secret-value"}]}
    result = invoke("config", "check", str(write(tmp_path, admin=admin)))
    assert result.exit_code == 2
    assert "admin.tokens.0.token" in result.stderr


def test_check_needs_a_file_argument() -> None:
    assert invoke("config", "check").exit_code == 2


def test_the_file_may_be_given_with_config_as_to_every_other_command(tmp_path: Path) -> None:
    path = write(tmp_path)
    by_option = invoke("config", "check", "--config", str(path))
    assert by_option.exit_code == 0, by_option.output
    assert f"{path}: valid" in by_option.stdout
    neither = invoke("config", "check")
    assert neither.exit_code == 2 and "no configuration file given" in neither.stderr
