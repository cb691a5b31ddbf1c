"""A private PostgreSQL server started by a test: ``initdb`` from the installed server
(``/usr/lib/postgresql/*/bin``), its own data directory and port, so the test may kill it.

PostgreSQL refuses to run as root; when the tests run as root the server runs as the
``postgres`` system user (through ``runuser``), in a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PORT = 35650  # in the port range given to these tests
START_TIMEOUT_S = 60.0


def server_bin() -> Path:
    """The newest installed server's ``bin`` directory; fails (CI) or skips without one."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        message = "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (install postgresql)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Path(found[-1]).parent


class PrivatePostgres:
    """``start()``, ``kill()`` (SIGKILL of every server process, as in a crash), ``start()``
    again (crash recovery), ``close()``."""

    def __init__(self, *, port: int = PORT, settings: dict[str, str] | None = None) -> None:
        self.bin = server_bin()
        self.port = port
        self.settings = settings or {}
        self.root = Path(tempfile.mkdtemp(prefix="cb-private-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", self._user, "--", *args] if self._user else list(args)

    def _run(self, *args: str) -> None:
        result = subprocess.run(self._command(*args), capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        options = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": "",
            "fsync": "on",
            **self.settings,
        }
        argv = [str(self.bin / "postgres"), "-D", str(self.data)]
        for key, value in options.items():
            argv += ["-c", f"{key}={value}"]
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            self._command(*argv), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            ready = subprocess.run(
                [
                    str(self.bin / "pg_isready"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-d",
                    "postgres",
                    "-U",
                    "postgres",
                ],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start; its log:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once: unwritten WAL buffers are lost."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            # backends left without their postmaster exit by themselves; wait for them
            deadline = time.monotonic() + 30
            while (self.data / "postmaster.pid").exists() and _owner_alive(self.data / "postmaster.pid"):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _owner_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True
