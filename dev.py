#!/usr/bin/env python3
"""The commands a maintainer types every day (`python3 dev.py help`); needs only Python 3.11+."""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import shutil
import subprocess
import sys
import textwrap
import venv
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env={**os.environ, **(env or {})})
    if result.returncode:
        sys.exit(result.returncode)


def install(requirements: str) -> None:
    """Creates .venv and installs `requirements` into it unless it is already installed."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this file may be run by an older Python)
        sys.exit("Conduit API needs Python 3.11 or newer.")
    if not PYTHON.exists():
        venv.create(VENV, with_pip=True)
        run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    files = [ROOT / "requirements.txt", ROOT / requirements]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(
        PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements
    )
    stamp.write_text(digest)


def install_node_tools() -> None:
    """npm ci, for the tests that lint the schema and type-check TypeScript; they skip (with a
    reason) where Node.js is not installed."""
    if shutil.which("npm") is None:
        print("npm not found: the schema-lint and TypeScript tests will be skipped.")
        return
    digest = hashlib.sha256((ROOT / "package-lock.json").read_bytes()).hexdigest()
    stamp = ROOT / "node_modules" / ".installed"
    if stamp.exists() and stamp.read_text() == digest:
        return
    run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
    stamp.write_text(digest)


def manage(*args: str) -> None:
    run(PYTHON, "manage.py", *args)


def serve(args: list[str]) -> None:
    install("requirements.txt")
    manage("migrate", "--no-input")
    manage("seed_demo")
    manage("runserver", *(args or ["127.0.0.1:8000"]))


def prod(args: list[str]) -> None:
    """The container's stack and environment, without a container: nginx in front of gunicorn
    (deploy/launch.py), which stops both on Ctrl-C or SIGTERM. Where the environment leaves
    something unset, a local default stands in: DEBUG off, this address among ALLOWED_HOSTS, a
    random SECRET_KEY for the run, SQLite in db.sqlite3 without DATABASE_URL, migrations on start.
    """
    install("requirements.txt")
    address = args[0] if args else "127.0.0.1:8080"
    env = dict(os.environ)
    host = address.rpartition(":")[0]
    env.setdefault("DEBUG", "false")
    env.setdefault(
        "ALLOWED_HOSTS", ",".join(dict.fromkeys(filter(None, [host, "127.0.0.1", "localhost"])))
    )
    env.setdefault("MIGRATE_ON_START", "1")
    if not env.get("DATABASE_URL"):
        env.setdefault("ALLOW_SQLITE", "true")
    if not env.get("SECRET_KEY"):
        print("SECRET_KEY is not set: using a random one, so tokens last as long as this run.")
        env["SECRET_KEY"] = secrets.token_urlsafe(50)
    run(PYTHON, "manage.py", "collectstatic", "--no-input", "--verbosity", "0", env=env)
    command = [str(PYTHON), "-m", "deploy", "serve", address]
    print("+", " ".join(command), flush=True)
    # The launcher takes this process's place, so a signal to `dev.py prod` reaches it.
    os.chdir(ROOT)
    os.execve(command[0], command, env)


def test(args: list[str]) -> None:
    install("requirements-dev.txt")
    install_node_tools()
    run(PYTHON, "-m", "pytest", *args)


def fuzz(args: list[str]) -> None:
    install("requirements-dev.txt")
    seed = str(random.randrange(2**32))  # noqa: S311 (a test seed, printed for replay)
    print(f"schemathesis seed: {seed}")
    env = {"SCHEMATHESIS_EXAMPLES": "1000", "SCHEMATHESIS_SEED": seed}
    run(PYTHON, "-m", "pytest", "tests/test_schemathesis.py", "-s", *args, env=env)


def lint(args: list[str]) -> None:
    install("requirements-dev.txt")
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    run(BIN / "mypy", ".")
    manage("makemigrations", "--check", "--dry-run")


def schema(args: list[str]) -> None:
    install("requirements-dev.txt")
    manage("spectacular", "--file", "openapi.yaml", "--validate", "--fail-on-warn", *args)


def audit(args: list[str]) -> None:
    install("requirements-dev.txt")
    run(
        BIN / "pip-audit", "--strict", "-r", "requirements.txt", "-r", "requirements-dev.txt", *args
    )


# The next Django release the suite must keep passing on; it needs Python 3.12 or newer.
NEXT_DJANGO = "Django==6.1.3"
NEXT_VENV = ROOT / ".venv-next"


def next_python() -> str:
    """A Python 3.12+ interpreter: $NEXT_PYTHON, pyenv's, or one on PATH."""
    candidates = [os.environ.get("NEXT_PYTHON", "")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob("3.1[2-9]*/bin/python3"))[::-1]
    candidates += [shutil.which(name) or "" for name in ("python3.13", "python3.12")]
    for candidate in filter(None, candidates):
        probe = [candidate, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return candidate
    sys.exit("No Python 3.12+ found for the next Django: set NEXT_PYTHON.")


def forward(args: list[str]) -> None:
    python = NEXT_VENV / "bin" / "python"
    if not python.exists():
        run(next_python(), "-m", "venv", NEXT_VENV)
        run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    requirements = (ROOT / "requirements.txt").read_text()
    pinned = requirements.replace("Django==", "# replaced by the next release: Django==")
    next_requirements = NEXT_VENV / "requirements.txt"
    next_requirements.write_text(f"{pinned}\n{NEXT_DJANGO}\n")
    dev = (
        (ROOT / "requirements-dev.txt")
        .read_text()
        .replace("-r requirements.txt", f"-r {next_requirements}")
    )
    (NEXT_VENV / "requirements-dev.txt").write_text(dev)
    run(python, "-m", "pip", "install", "--quiet", "-r", NEXT_VENV / "requirements-dev.txt")
    install_node_tools()
    run(python, "-m", "pytest", *args)


# Each task: what it runs, the arguments it takes, and what it does (shown by `dev.py help`).
TASKS: dict[str, tuple[Callable[[list[str]], None], str, str]] = {
    "serve": (
        serve,
        "[ADDRESS]",
        "install, migrate, load demo content, run Django's development server on ADDRESS "
        "(default 127.0.0.1:8000; other runserver arguments pass through)",
    ),
    "prod": (
        prod,
        "[ADDRESS]",
        "the production front (nginx in front of gunicorn) on ADDRESS, as the container runs "
        "it (default 127.0.0.1:8080)",
    ),
    "test": (
        test,
        "[PYTEST ARGS]",
        "install everything and run the test suite; arguments go to pytest "
        '(-k NAME, -x, -m "not slow", tests/test_tags.py, ...)',
    ),
    "lint": (lint, "", "ruff (lint and format check), mypy, missing-migration check"),
    "schema": (
        schema,
        "[SPECTACULAR ARGS]",
        "regenerate openapi.yaml from the code; arguments go to manage.py spectacular",
    ),
    "fuzz": (
        fuzz,
        "[PYTEST ARGS]",
        "schemathesis with 1,000 examples per operation and a random seed; arguments go to "
        "pytest (e.g. -k DeleteArticle)",
    ),
    "forward": (
        forward,
        "[PYTEST ARGS]",
        "the test suite on the next Django (6.1, Python 3.12+ from $NEXT_PYTHON, pyenv or "
        "PATH), in .venv-next; arguments go to pytest",
    ),
    "audit": (
        audit,
        "[PIP-AUDIT ARGS]",
        "pip-audit of the pinned dependencies; arguments go to pip-audit",
    ),
}
HELP = ("help", "-h", "--help")
# Tasks that take at most this many arguments (the others pass any number on).
MAX_ARGS = {"lint": 0, "prod": 1}


def usage() -> str:
    width = max(len(f"{name} {args}") for name, (_, args, _) in TASKS.items())
    lines = ["usage: python3 dev.py TASK [ARGS...]", "", "tasks:"]
    for name, (_, args, text) in TASKS.items():
        wrapped = textwrap.wrap(text, 96 - width - 6)
        lines.append(f"  {f'{name} {args}':<{width}}    {wrapped[0]}")
        lines.extend(f"  {'':<{width}}    {more}" for more in wrapped[1:])
    lines.append(f"  {'help':<{width}}    this text (also -h, --help)")
    lines += [
        "",
        "Each task creates .venv/ on first use and reinstalls only when a requirements file",
        "changed.",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] and argv[0] in HELP:
        print(usage())
        return 0
    if not argv or argv[0] not in TASKS:
        problem = f"unknown task: {argv[0]}" if argv else "no task given"
        print(f"{usage()}\n\ndev.py: {problem}", file=sys.stderr)
        return 2
    name, args = argv[0], argv[1:]
    if len(args) > MAX_ARGS.get(name, len(args)):
        print(f"usage: python3 dev.py {name} {TASKS[name][1]}".rstrip(), file=sys.stderr)
        print(f"dev.py: {name}: too many arguments: {' '.join(args)}", file=sys.stderr)
        return 2
    TASKS[name][0](args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
