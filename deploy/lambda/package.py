"""Build the Lambda zip: canvasbridge's live-events code plus exactly the libraries it imports.

    python deploy/lambda/package.py --output build/function.zip            # copy from this env
    python deploy/lambda/package.py --output build/function.zip --pip      # download for Lambda
    python deploy/lambda/package.py --environment build/environment.json   # env JSON for the AWS CLI

Which libraries: a child interpreter imports the handler and the modules it needs at run
time, and every non-standard top-level module it loaded is traced to its distribution.
``--pip`` then downloads those distributions, pinned to the versions installed here, as
manylinux wheels for the Lambda runtime (``--python-version``, ``--platform``); without it
the installed files are copied (fine when this machine is Linux x86_64 with the same Python).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "canvasbridge"
HANDLER = "canvasbridge.live_events.lambda_handler.lambda_handler"
# canvasbridge parts the Lambda needs (the engine, the CLI and the emulators stay out)
PARTS = ["__init__.py", "errors.py", "backoff.py", "secrets.py", "clients", "live_events"]
PROBE = (
    "import sys, json\n"
    "import canvasbridge.live_events.lambda_handler as h, canvasbridge.live_events.runtime\n"
    "import canvasbridge.clients.canvas, canvasbridge.clients.salesforce, yaml\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
)
# Lambda passes these to the function (values come from the environment, i.e. .env)
VARIABLES = [
    "LOG_LEVEL",
    "CANVAS_URL",
    "CANVAS_TOKEN",
    "SALESFORCE_DOMAIN",
    "SALESFORCE_LOGIN_URL",
    "SALESFORCE_USER",
    "SALESFORCE_PASSWORD",
    "SALESFORCE_SECURITY_TOKEN",
    "SALESFORCE_CONSUMER_KEY",
    "SALESFORCE_CONSUMER_SECRET",
    "LIVE_EVENTS_TIMEZONE",
    "LIVE_EVENTS_CONFIG",
    "MALFORMED_MESSAGES",
]


def needed_distributions() -> dict[str, str]:
    """{distribution: version} of every third-party module the handler imports."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    output = subprocess.run(
        [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True, env=env
    ).stdout
    modules = (
        set(json.loads(output))
        - set(sys.stdlib_module_names)
        - {"canvasbridge", "__main__", "_distutils_hack"}
    )
    owners = metadata.packages_distributions()
    found: dict[str, str] = {}
    for module in sorted(modules):
        for dist in owners.get(module, []):
            if dist.lower() in {"canvasbridge", "setuptools", "pip"}:
                continue
            found[dist] = metadata.version(dist)
    return _with_requirements(found)


def _with_requirements(found: dict[str, str]) -> dict[str, str]:
    """Add what the found distributions require (some import lazily, e.g. httpx → httpcore)."""
    from packaging.requirements import Requirement

    todo = list(found)
    while todo:
        for line in metadata.requires(todo.pop()) or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            try:
                version = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                continue
            name = metadata.distribution(requirement.name).metadata["Name"]
            if name not in found:
                found[name] = version
                todo.append(name)
    return found


def copy_installed(dists: dict[str, str], target: Path) -> None:
    for name in dists:
        dist = metadata.distribution(name)
        for file in dist.files or []:
            if file.suffix == ".pyc" or "__pycache__" in file.parts or str(file).startswith(".."):
                continue
            source = Path(str(dist.locate_file(file)))
            if source.is_file():
                destination = target / file
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)


def pip_download(dists: dict[str, str], target: Path, python_version: str, platform: str) -> None:
    requirements = [f"{name}=={version}" for name, version in sorted(dists.items())]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            "--only-binary=:all:",
            "--platform",
            platform,
            "--python-version",
            python_version,
            *requirements,
        ],
        check=True,
    )


def copy_source(target: Path) -> None:
    for part in PARTS:
        source = SOURCE / part
        destination = target / "canvasbridge" / part
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, destination)


def build(output: Path, *, use_pip: bool, python_version: str, platform: str) -> Path:
    dists = needed_distributions()
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        if use_pip:
            pip_download(dists, staging, python_version, platform)
        else:
            copy_installed(dists, staging)
        copy_source(staging)
        output.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(staging.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(staging).as_posix())
    print(f"{output}: handler {HANDLER}; {len(dists)} libraries: {', '.join(sorted(dists))}")
    return output


def environment_json(path: Path) -> None:
    variables = {name: os.environ[name] for name in VARIABLES if os.environ.get(name)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"Variables": variables}))
    os.chmod(path, 0o600)
    print(f"{path}: {', '.join(sorted(variables))}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path)
    parser.add_argument("--pip", action="store_true", help="download Lambda wheels instead of copying")
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--platform", default="manylinux2014_x86_64")
    parser.add_argument("--environment", type=Path, help="write the Lambda environment JSON here")
    args = parser.parse_args()
    if args.environment:
        environment_json(args.environment)
    if args.output:
        build(args.output, use_pip=args.pip, python_version=args.python_version, platform=args.platform)


if __name__ == "__main__":
    main()
