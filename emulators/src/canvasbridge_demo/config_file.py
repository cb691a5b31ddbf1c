"""A ready canvasbridge configuration for a running emulator suite (``emulate --write-config``).

The file is the demo configuration (``examples/demo.yaml``) filled in with the suite's URLs;
the secrets go to an env file beside it (``<name>.env``, readable by its owner only), never
into the YAML:

    canvasbridge emulate --port-base 47000 --write-config emulated.yaml
    set -a; . ./emulated.env; set +a
    canvasbridge worker --config emulated.yaml
"""

from __future__ import annotations

import secrets
import shlex
from pathlib import Path
from typing import Any

import yaml

from canvasbridge_demo.stack import (
    SECRET_ENV,
    WEBHOOK_PATH,
    default_config_path,
    fill_placeholders,
    placeholders,
    secret_environment,
    use_amqp_source,
)

#: with ``--port-base N`` the configuration's webhook source listens on N + this
WEBHOOK_PORT_OFFSET = 6


def env_file_for(config_file: Path) -> Path:
    return config_file.with_suffix(".env")


def webhook_url(port: int) -> str:
    """Where the written configuration's webhook source listens; the source emulators post there."""
    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"


def write_config(suite: Any, config_file: Path, webhook_port: int, publish: str = "memory") -> Path:
    """Write the filled-in configuration and its env file; returns the env file's path.

    The ledger and broker are SQLite files in ``.canvasbridge/`` beside the configuration,
    so the commands run with it share them wherever they are started from. When the source
    emulators publish to AMQP (``publish`` ``amqp://…``), the source ``uio`` is an AMQP
    source bound to their exchanges instead of the webhook."""
    data_dir = config_file.resolve().parent / ".canvasbridge"
    text = fill_placeholders(
        default_config_path().read_text(encoding="utf-8"), placeholders(suite, data_dir, webhook_port)
    )
    document = yaml.safe_load(text) or {}
    document.pop("demo", None)  # the demo's own knobs mean nothing outside `canvasbridge demo`
    amqp_password = (
        use_amqp_source(document, publish) if publish.startswith(("amqp://", "amqps://")) else None
    )
    document.setdefault("admin", {})["port"] = webhook_port + 1  # `canvasbridge api` beside the webhook
    header = (
        "# canvasbridge configuration for `canvasbridge emulate` (examples/demo.yaml filled in).\n"
        f"# Secrets are in {env_file_for(config_file).name}: set -a; . ./{env_file_for(config_file).name}; set +a\n"
    )
    config_file.write_text(
        header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    env_file = env_file_for(config_file)
    env_file.touch(mode=0o600)
    env_file.chmod(0o600)
    values = secret_environment(suite, admin_token=secrets.token_urlsafe(18))
    if amqp_password is not None:
        values[SECRET_ENV["amqp"]] = amqp_password
    env_file.write_text(
        "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items()), encoding="utf-8"
    )
    return env_file
