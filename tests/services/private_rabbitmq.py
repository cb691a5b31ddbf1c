"""A private RabbitMQ cluster on this machine, for the cluster tests.

Three nodes of the installed ``rabbitmq-server`` (``/usr/lib/rabbitmq/bin``), each with its
own node name, AMQP and distribution port (free ones, picked at start), data and log
directories, sharing one Erlang cookie (through ``HOME``) and the system's epmd; the second
and third join the first with ``rabbitmqctl join_cluster``. Nothing of the system's own
RabbitMQ is touched.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
CTL_DIST_PORT_COUNT = 20  # rabbitmqctl's own distribution ports: a range, each call takes one
# Ports are picked below Linux's ephemeral range (32768-60999), so no outgoing connection takes
# one between the check and the node's listen.
PORT_RANGE = (20000, 32000)
START_TIMEOUT_S = 120.0


def free_port_block(count: int) -> list[int]:
    """``count`` consecutive ports on 127.0.0.1 that nothing listens on now."""
    for _ in range(100):
        base = random.randrange(PORT_RANGE[0], PORT_RANGE[1] - count)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return list(range(base, base + count))
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise RuntimeError(f"no {count} free consecutive ports in {PORT_RANGE}")


@dataclass
class Node:
    name: str
    amqp_port: int
    dist_port: int
    home: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}//"


@dataclass
class RabbitCluster:
    """Three clustered nodes under ``root``; :meth:`start` boots them, :meth:`close` ends them."""

    root: Path
    size: int = 3
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.cookie = uuid.uuid4().hex
        self.home = self.root / "home"
        ports = free_port_block(2 * self.size + CTL_DIST_PORT_COUNT)
        self.ctl_dist_ports = (ports[2 * self.size], ports[-1])
        for index in range(self.size):
            self.nodes.append(
                Node(
                    name=f"cbscale{tag}{index}@localhost",
                    amqp_port=ports[index],
                    dist_port=ports[self.size + index],
                    home=self.root / f"node{index}",
                )
            )

    # -- environment ---------------------------------------------------------------------

    def _env(self, node: Node) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        env.update(
            HOME=str(self.home),  # where the shared .erlang.cookie is
            RABBITMQ_CONF_ENV_FILE=str(self.root / "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=str(node.home / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(node.home / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.root / "enabled_plugins"),
            RABBITMQ_NODENAME=node.name,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(node.amqp_port),
            RABBITMQ_DIST_PORT=str(node.dist_port),
            RABBITMQ_CTL_DIST_PORT_MIN=str(self.ctl_dist_ports[0]),
            RABBITMQ_CTL_DIST_PORT_MAX=str(self.ctl_dist_ports[1]),
            RABBITMQ_MNESIA_BASE=str(node.home / "mnesia"),
            RABBITMQ_LOG_BASE=str(node.home / "log"),
            RABBITMQ_PID_FILE=str(node.home / "pid"),
            RABBITMQ_USE_LONGNAME="false",
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        return env

    def _write_files(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(self.cookie)
        cookie.chmod(0o400)
        (self.root / "rabbitmq-env.conf").write_text("")
        (self.root / "enabled_plugins").write_text("[].\n")
        for node in self.nodes:
            (node.home / "log").mkdir(parents=True, exist_ok=True)
            (node.home / "rabbitmq.conf").write_text(
                f"listeners.tcp.1 = 127.0.0.1:{node.amqp_port}\n"
                "loopback_users = none\n"
                "cluster_partition_handling = pause_minority\n"
            )
            (node.home / "advanced.config").write_text("[].\n")

    # -- control -------------------------------------------------------------------------

    def ctl(self, node: Node, *args: str, timeout: float = 60) -> str:
        """``rabbitmqctl -n node args``; raises with its output if it fails."""
        result = subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node.name, *args],
            env=self._env(node),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} on {node.name}: {result.stdout}{result.stderr}")
        return result.stdout

    def start_node(self, node: Node) -> None:
        self._launch(node)
        self.await_node(node)

    def _launch(self, node: Node) -> None:
        with (node.home / "log" / "stdout.log").open("ab") as log:
            node.process = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")],
                env=self._env(node),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def await_node(self, node: Node) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if node.process is not None and node.process.poll() is not None:
                raise RuntimeError(
                    f"{node.name} exited with {node.process.returncode}; see {node.home / 'log'}"
                )
            try:
                self.ctl(node, "await_startup", "--timeout", "10", timeout=30)
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def start(self) -> RabbitCluster:
        self._write_files()
        for node in self.nodes:  # the three boot at once: each boot mostly waits
            self._launch(node)
        for node in self.nodes:
            self.await_node(node)
        first, *others = self.nodes
        for node in others:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
            self.await_node(node)
        return self

    def running_nodes(self) -> str:
        return self.ctl(self.nodes[0], "cluster_status")

    def ensure_running(self) -> None:
        """Start again any node a test stopped or killed (it rejoins the cluster)."""
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                self.start_node(node)

    def stop_node(self, node: Node) -> None:
        """A clean stop of one node (``rabbitmqctl stop``)."""
        self.ctl(node, "stop")
        if node.process is not None:
            node.process.wait(timeout=60)

    def kill_node(self, node: Node) -> None:
        """SIGKILL the node's Erlang VM (the whole process group of its start script)."""
        if node.process is not None and node.process.poll() is None:
            os.killpg(node.process.pid, signal.SIGKILL)
            node.process.wait(timeout=30)

    def close(self) -> None:
        for node in self.nodes:
            self.kill_node(node)
        shutil.rmtree(self.root, ignore_errors=True)
