"""The engine's counters in files, so one ``/metrics`` answers for every process of a host.

``consume``, the worker and its prefork pool children, and ``api`` are separate processes;
each counts what it does. prometheus_client's multiprocess mode has each process write its
values to files of its own in one directory, and the API's collector adds them up. The mode
is fixed when the first metric is made, at import, before a configuration file is read, so
the directory comes from the environment (``CANVASBRIDGE_METRICS_DIR``), else a private
directory per user on the host: ``$XDG_RUNTIME_DIR/canvasbridge-metrics``, else
``<temp dir>/canvasbridge-metrics-<uid>``. :func:`enable` runs at the start of the
``canvasbridge`` command.

A process's files are named ``<kind>_<host>.<pid namespace>-<pid>-<start>.db``: host and
namespace say where the pid can be checked (containers sharing a volume each number their
processes from 1), the random start token keeps a reused pid from taking over a dead
process's files. When a process ends, its files are
folded into ``<kind>_archive.db`` (counters and histograms added, gauges by their mode), so
the sums go on rising instead of resetting and the directory does not grow with every pool
child. Files of this host's processes that died without folding (SIGKILL) are folded by the
next process that starts, ends or collects. Folding and collecting hold a lock on the
directory, so a scrape never counts a process twice or not at all.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import secrets
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from canvasbridge.errors import ConfigError

ENV = "CANVASBRIDGE_METRICS_DIR"
PROMETHEUS_ENV = "PROMETHEUS_MULTIPROC_DIR"
ARCHIVE = "archive"
LOCK = ".lock"
# gauges of a dead process that mean nothing any more: its own series (all) and live* ones
DROPPED_MODES = {"all", "liveall", "livesum", "livemax", "livemin", "livemostrecent"}


def _place() -> str:
    """This host and pid namespace: where a pid names one process (containers on the host
    network share a host name, and each numbers its processes from 1)."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return host
    return f"{host}.{''.join(filter(str.isdigit, namespace))}"


_HOST = _place()
_START = secrets.token_hex(3)


def identifier(pid: int | None = None) -> str:
    """This process's part of its file names (or, with ``pid``, that of a child it forked)."""
    return f"{_HOST}-{os.getpid() if pid is None else pid}-{_START}"


def default_dir(environ: Mapping[str, str] = os.environ) -> Path:
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "canvasbridge-metrics"
    return Path(tempfile.gettempdir()) / f"canvasbridge-metrics-{os.getuid()}"


def enable(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """Put this process (and the processes it starts) in multiprocess mode; returns the
    directory. Must run before any metric is made. Raises :class:`ConfigError` when the
    directory cannot be used."""
    if "canvasbridge.engine.metrics" in sys.modules:
        raise RuntimeError("metrics_files.enable() after the engine's metrics were made")
    named = environ.get(ENV) or environ.get(PROMETHEUS_ENV)
    directory = Path(named) if named else default_dir(environ)
    _prepare(directory, private=not named)
    environ[PROMETHEUS_ENV] = str(directory)
    from prometheus_client import values

    values.ValueClass = values.MultiProcessValue(identifier)  # type: ignore[no-untyped-call]
    fold_dead(directory)
    atexit.register(process_ended, directory)
    return directory


def _prepare(directory: Path, *, private: bool) -> None:
    variable = f"the default; {ENV} chooses another" if private else ENV
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        found = directory.lstat()
    except OSError as exc:
        raise ConfigError(f"metrics directory {directory} ({variable}): {exc.strerror}") from None
    if private and (directory.is_symlink() or found.st_uid != os.getuid()):
        raise ConfigError(
            f"metrics directory {directory}: not a directory of this user; set {ENV} to one that is"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"metrics directory {directory} ({variable}): not writable by this user")


def active_dir() -> Path | None:
    """The directory of multiprocess mode, or None when this process counts alone."""
    named = os.environ.get(PROMETHEUS_ENV)
    return Path(named) if named else None


def process_ended(directory: Path | None = None, *, pid: int | None = None) -> None:
    """Fold the files of this process (or of its forked child ``pid``), and those of this
    host's dead processes, into the archive. Runs at exit, and as a prefork pool child stops
    (pool children leave without running ``atexit``)."""
    directory = directory or active_dir()
    if directory is not None and directory.is_dir():
        fold_dead(directory, also={identifier(pid)})


def collect(directory: Path) -> list[Any]:
    """Every process's metrics added up, as prometheus_client's collector gives them."""
    from prometheus_client.multiprocess import MultiProcessCollector

    fold_dead(directory)
    with _locked(directory, fcntl.LOCK_SH):
        files = [str(path) for path in directory.glob("*.db") if _written(path)]
        return list(MultiProcessCollector.merge(files, accumulate=True))  # type: ignore[no-untyped-call]


def fold_dead(directory: Path, also: Iterable[str] = ()) -> int:
    """Fold the files of this host's processes that no longer run, and of ``also``, into the
    archive files; returns how many processes' files were folded."""
    wanted = set(also)
    if not _files_of(directory, wanted):
        return 0
    with _locked(directory, fcntl.LOCK_EX):
        found = _files_of(directory, wanted)  # again: another process may have folded them
        kinds: dict[str, list[Path]] = {}
        for kind, _ident, path in found:
            kinds.setdefault(kind, []).append(path)
        for kind, paths in kinds.items():
            _fold_kind(directory, kind, paths)
        return len({ident for _kind, ident, _path in found})


def _files_of(directory: Path, wanted: set[str]) -> list[tuple[str, str, Path]]:
    """``(kind, identifier, path)`` of each file of a dead process of this host or of ``wanted``."""
    found = []
    for path in directory.glob("*.db"):
        kind, _, ident = path.stem.rpartition("_")
        if ident in wanted or _dead_here(ident):
            found.append((kind, ident, path))
    return found


def _dead_here(ident: str) -> bool:
    host, _, rest = ident.rpartition("-")[0].rpartition("-")
    if host != _HOST or not rest.isdigit():
        return False  # the archive, another host's process, or a name not of ours
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _fold_kind(directory: Path, kind: str, paths: list[Path]) -> None:
    from prometheus_client.mmap_dict import MmapedDict

    mode = kind.partition("_")[2] if kind.startswith("gauge_") else ""
    if mode not in DROPPED_MODES:
        archive = directory / f"{kind}_{ARCHIVE}.db"
        merged: dict[str, tuple[float, float]] = {}
        for source in [path for path in [archive, *paths] if _written(path)]:
            read = MmapedDict.read_all_values_from_file(str(source))  # type: ignore[no-untyped-call]
            for key, value, timestamp, _ in read:
                merged[key] = _combine(mode, merged.get(key), (value, timestamp))
        partial = directory / f"{kind}_{ARCHIVE}.partial"
        partial.unlink(missing_ok=True)
        written = MmapedDict(str(partial))  # type: ignore[no-untyped-call]
        for key, (value, timestamp) in merged.items():
            written.write_value(key, value, timestamp)  # type: ignore[no-untyped-call]
        written.close()  # type: ignore[no-untyped-call]
        os.replace(partial, archive)
    for path in paths:
        path.unlink(missing_ok=True)


def _written(path: Path) -> bool:
    """Whether the file holds its header; one a process died creating is empty."""
    try:
        return path.stat().st_size >= 8
    except FileNotFoundError:
        return False


def _combine(mode: str, old: tuple[float, float] | None, new: tuple[float, float]) -> tuple[float, float]:
    if old is None:
        return new
    if mode in ("max", "min"):
        pick = max if mode == "max" else min
        return pick(old, new, key=lambda pair: pair[0])
    if mode == "mostrecent":
        return max(old, new, key=lambda pair: pair[1])
    return (old[0] + new[0], max(old[1], new[1]))  # counters, histograms, summaries, sum gauges


@contextlib.contextmanager
def _locked(directory: Path, how: int) -> Iterator[None]:
    with open(directory / LOCK, "a") as handle:
        fcntl.flock(handle, how)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
