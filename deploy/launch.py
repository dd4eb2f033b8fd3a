"""The production stack in one process tree: nginx in front, gunicorn behind it on a unix socket.

    python -m deploy serve [ADDRESS]     # what the container runs; ADDRESS defaults to BIND/PORT

It renders deploy/nginx.conf for the address into a run folder of its own (a temporary folder:
sockets, pid file, nginx's buffers), starts gunicorn with gunicorn.conf.py on a socket there,
waits until it answers, then starts nginx in front of it. On SIGTERM or SIGINT (Ctrl-C) it sends
SIGTERM to gunicorn's master and waits for it (gunicorn's graceful shutdown is the drain; nginx
keeps passing it requests meanwhile), then stops nginx gracefully, removes the run folder and
exits. If either process dies on its own, it stops the other and exits non-zero.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from deploy.cpu import available_cpus

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf"
NGINX_MODULES = Path("/usr/lib/nginx/modules")


def log(message: str) -> None:
    print(f"[launch] {message}", file=sys.stderr, flush=True)


def listen_address(environ: Mapping[str, str], given: str | None = None) -> str:
    """The public address, as nginx's `listen` takes it: the one given, else BIND, else
    0.0.0.0:$PORT (8000)."""
    address = given or environ.get("BIND") or f"0.0.0.0:{environ.get('PORT') or '8000'}"
    if not re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}|\d{1,5}", address):
        raise SystemExit(f"Cannot listen on {address!r}: give HOST:PORT, e.g. 127.0.0.1:8080.")
    return address


def probe_url(environ: Mapping[str, str], path: str = "/healthz") -> str:
    """Where a check on this machine reaches the front (the image's HEALTHCHECK uses it)."""
    host, _, port = listen_address(environ).rpartition(":")
    if host in ("", "0.0.0.0", "*"):  # noqa: S104 (reading an address, not binding it)
        host = "127.0.0.1"
    elif host == "[::]":
        host = "[::1]"
    return f"http://{host}:{port}{path}"


def env_seconds(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip() or str(default)
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a whole number of seconds, not {value!r}.")
    return int(value)


def nginx_settings(environ: Mapping[str, str], address: str, run_dir: Path) -> dict[str, str]:
    """The values deploy/nginx.conf is filled in with, limits from the environment."""
    max_body = environ.get("MAX_REQUEST_BODY_BYTES", "").strip() or str(1024 * 1024)
    if not max_body.isdigit():
        raise SystemExit(f"MAX_REQUEST_BODY_BYTES must be a number of bytes, not {max_body!r}.")
    per_client = environ.get("NGINX_CONNECTIONS_PER_CLIENT", "").strip() or "32"
    if not per_client.isdigit() or int(per_client) < 1:
        raise SystemExit(f"NGINX_CONNECTIONS_PER_CLIENT must be a number, not {per_client!r}.")
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    # A proxied request holds two descriptors (the client's and gunicorn's).
    connections = max(256, min(8192, open_files // 2))
    # nginx refuses to start its workers as root; they run as nobody, which needs a way in.
    user = "user nobody nogroup;" if os.geteuid() == 0 else ""
    gunicorn_timeout = env_seconds(environ, "GUNICORN_TIMEOUT", 30)
    return {
        "modules": str(NGINX_MODULES),
        "user": user,
        "worker_processes": str(available_cpus()),
        "open_files": str(open_files),
        "worker_connections": str(connections),
        "run_dir": str(run_dir),
        "listen": address,
        "upstream": f"unix:{run_dir / 'gunicorn.sock'}",
        "header_timeout": str(env_seconds(environ, "NGINX_HEADER_TIMEOUT", 10)),
        "body_timeout": str(env_seconds(environ, "NGINX_BODY_TIMEOUT", 10)),
        "request_timeout": str(env_seconds(environ, "NGINX_REQUEST_TIMEOUT", 30)),
        "keepalive_timeout": str(env_seconds(environ, "NGINX_KEEPALIVE_TIMEOUT", 15)),
        "connections_per_client": per_client,
        "max_body_bytes": max_body,
        "upstream_timeout": str(gunicorn_timeout + 10),
    }


def render(template: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\{\{ (\w+) \}\}", value, template)


def _die_with_parent() -> None:
    """Run in each child before it starts: the kernel sends it SIGTERM if the launcher dies
    (even by SIGKILL), so nothing outlives it."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start(command: list[str], environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    # A process group of its own: Ctrl-C in a terminal reaches the launcher alone, which then
    # stops each process the way it should be stopped.
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=dict(environ),
        process_group=0,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def answers(socket_path: Path) -> bool:
    """Whether gunicorn answers /healthz on its socket."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(socket_path))
            sock.sendall(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            return b" 200 " in sock.recv(64).split(b"\r\n")[0]
    except OSError:
        return False


def stop(process: subprocess.Popen[bytes], sig: int, timeout: float) -> int:
    """Stops a process the launcher started with `sig`, then whatever is left of its process
    group (nginx's workers outlive a master that was killed)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"process {process.pid} did not stop within {timeout:.0f}s; killing it")
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode


# Several instances running it at once take turns on a database lock, so migrations are applied
# once (resources/management/commands/migrate.py).
MIGRATE = [sys.executable, "manage.py", "migrate", "--no-input"]


def migrate(environ: Mapping[str, str]) -> None:
    status = start(MIGRATE, environ).wait()
    if status:
        raise SystemExit(status)


def serve(address: str | None = None, environ: Mapping[str, str] = os.environ) -> int:
    """Runs nginx and gunicorn until SIGTERM or SIGINT; returns the exit status."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists() or not (NGINX_MODULES / "ngx_http_lua_module.so").exists():
        raise SystemExit(
            "nginx with its Lua module is needed: apt-get install nginx libnginx-mod-http-lua"
        )
    # Each proxied connection needs descriptors; take what the system allows this user.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        hard = 65536
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    # nginx opens /dev/stdout for its log lines anew, appending; where stdout is a file, every
    # other process must append too, or they write over each other's lines.
    fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_APPEND)

    listen = listen_address(environ, address)
    if environ.get("MIGRATE_ON_START", "").strip().lower() in {"1", "true", "yes", "on"}:
        migrate(environ)

    run_dir = Path(tempfile.mkdtemp(prefix="conduit-"))
    try:
        if os.geteuid() == 0:
            # nginx's workers (as nobody) reach gunicorn's socket and their buffers in here.
            run_dir.chmod(0o711)
        config = run_dir / "nginx.conf"
        config.write_text(render(TEMPLATE.read_text(), nginx_settings(environ, listen, run_dir)))
        return _run(nginx, config, listen, run_dir, environ)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _run(nginx: str, config: Path, listen: str, run_dir: Path, environ: Mapping[str, str]) -> int:
    check = subprocess.run(
        [nginx, "-t", "-q", "-e", "stderr", "-p", str(run_dir), "-c", str(config)], check=False
    )
    if check.returncode:
        raise SystemExit("nginx refused its configuration (above).")

    trusted = environ.get("TRUSTED_PROXIES", "").strip() or "0"
    if not trusted.isdigit():
        raise SystemExit(f"TRUSTED_PROXIES must be a number, not {trusted!r}.")
    socket_path = run_dir / "gunicorn.sock"
    gunicorn_env = {
        **environ,
        "BIND": f"unix:{socket_path}",
        "GUNICORN_CONTROL_SOCKET": str(run_dir / "gunicorn.ctl"),
        # The proxies in front of the stack (TRUSTED_PROXIES), then this stack's own nginx.
        "TRUSTED_PROXIES": str(int(trusted) + 1),
        # With METRICS_ENABLED, the workers' metric files go where they are cleaned up after.
        "PROMETHEUS_MULTIPROC_DIR": environ.get("PROMETHEUS_MULTIPROC_DIR")
        or str(run_dir / "metrics"),
    }
    Path(gunicorn_env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(exist_ok=True)
    gunicorn = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "api_project.wsgi:application",
        ],
        gunicorn_env,
    )
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stopping:
            log(f"{signal.Signals(signum).name}: stopping gunicorn gracefully, then nginx")
        stopping.append(signum)
        if gunicorn.poll() is None:
            # A second Ctrl-C asks gunicorn to stop at once (its SIGINT); SIGTERM stays graceful.
            second_interrupt = signum == signal.SIGINT and stopping.count(signal.SIGINT) > 1
            gunicorn.send_signal(signal.SIGINT if second_interrupt else signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    nginx_process: subprocess.Popen[bytes] | None = None
    try:
        while not stopping and gunicorn.poll() is None and not answers(socket_path):
            time.sleep(0.1)
        if not stopping and gunicorn.poll() is None:
            nginx_process = start(
                [nginx, "-e", "stderr", "-p", str(run_dir), "-c", str(config)], environ
            )
            log(f"serving on http://{listen} (nginx in front of gunicorn at {socket_path})")
        while gunicorn.poll() is None:
            if nginx_process is not None and nginx_process.poll() is not None and not stopping:
                log(f"nginx exited with status {nginx_process.returncode}; stopping gunicorn")
                stopping.append(signal.SIGTERM)
                gunicorn.send_signal(signal.SIGTERM)
            time.sleep(0.1)
    finally:
        if nginx_process is not None:
            # SIGQUIT: nginx finishes sending the responses it holds, then exits.
            stop(nginx_process, signal.SIGQUIT, timeout=15)
        graceful = env_seconds(environ, "GUNICORN_GRACEFUL_TIMEOUT", 30)
        stop(gunicorn, signal.SIGTERM, timeout=graceful + 15)
    if not stopping or (nginx_process is not None and nginx_process.returncode):
        # A process died on its own, or nginx failed to stop cleanly.
        status = gunicorn.returncode or 1
    else:
        status = gunicorn.returncode
    log(f"stopped (status {status})")
    return status
