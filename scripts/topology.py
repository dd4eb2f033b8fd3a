"""Conduit scaled out on one machine, checked under faults, then stopped. A few minutes; CI runs it.

    .venv/bin/python scripts/topology.py       (as root, like scripts/faults.py, or as a user
                                               who can run PostgreSQL's binaries)

It starts, under a temporary directory:
- a PostgreSQL 15 primary (initdb with the installed server's own binaries) and a streaming
  standby made from it with `pg_basebackup -R`, on its own port and data folder, replaying WAL
  with `recovery_min_apply_delay` (1.5 s), so that a read right after a write finds the standby
  behind;
- two gunicorn instances of the API (gunicorn.conf.py), each with DATABASE_URL at the primary,
  DATABASE_REPLICA_URLS at the standby, and the Redis at 127.0.0.1:6379 (database 12, under a
  key prefix of its own);
- HAProxy from Debian in front: health checks on /readyz, L7 retries of GET, HEAD and OPTIONS
  requests (which change nothing) with redispatch to the other instance.

Then it checks, and prints what it measured:
1. 1,000 create-then-read pairs across requests by one user: none not found (and, as a control,
   that anonymous reads right after a create do miss on the lagging standby);
2. readers with no recent write are served by the standby, counted from /metrics;
3. the standby stopped under load: no failed request; started again: back in use;
4. one app instance killed with SIGKILL under load: no failed read (HAProxy retries them), no
   acknowledged write lost;
5. a rolling restart of both instances under load (SIGTERM: drain, graceful stop; start
   again): no failed request.

Everything it started is stopped by process id, also on a failure or Ctrl-C; it exits non-zero
when a check fails.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_URL = "redis://127.0.0.1:6379/12"
APPLY_DELAY = "1500ms"
# The ports this project's scale-out checks may use.
APP_PORTS = range(19000, 20000)
POSTGRES_PORTS = range(55400, 55500)
DRAIN_SECONDS = 3
REPLICA_RETRY_SECONDS = 3


def reserve(port: int) -> socket.socket:
    """Holds a port until a server takes it: bound, not listening, so a connection to it is
    refused at once and the kernel gives it to no outgoing connection. (55400-55499 lie in
    Linux's ephemeral range: a standby stopped for a while could find its port taken.)"""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def free_port(ports: range, reserved: dict[int, socket.socket]) -> int:
    for port in random.sample(ports, len(ports)):
        if port in reserved:
            continue
        with contextlib.suppress(OSError):
            reserved[port] = reserve(port)
            return port
    raise RuntimeError(f"no free port in {ports}")


def release(reserved: dict[int, socket.socket], port: int) -> None:
    """Lets the server about to start take its port."""
    sock = reserved.pop(port, None)
    if sock is not None:
        sock.close()


def run(*command: str | Path | int, as_postgres: bool = False, **kwargs: Any) -> str:
    """Runs a command to its end; PostgreSQL's servers refuse to run as root, so as root they
    run as the postgres user."""
    args = [str(part) for part in command]
    if as_postgres and os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


# --- PostgreSQL -------------------------------------------------------------------------------


class Cluster:
    def __init__(self, folder: Path, reserved: dict[int, socket.socket]) -> None:
        self.data, self.reserved = folder, reserved
        self.port = free_port(POSTGRES_PORTS, reserved)
        self.log = folder.with_suffix(".log")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/conduit"

    def start(self) -> None:
        release(self.reserved, self.port)
        options = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1"
        run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start",
            as_postgres=True)  # fmt: skip

    def stop(self) -> None:
        run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop", as_postgres=True)
        # Held until it starts again.
        with contextlib.suppress(OSError):
            self.reserved[self.port] = reserve(self.port)

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def sql(self, query: str, database: str = "conduit") -> str:
        return run(
            "psql", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "-d", database,
            "-v", "ON_ERROR_STOP=1", "-At", "-c", query,
        ).strip()  # fmt: skip


# --- App instances and the load balancer ------------------------------------------------------


class App:
    """One gunicorn instance of the API, in a process group of its own."""

    def __init__(
        self, name: str, env: dict[str, str], folder: Path, reserved: dict[int, socket.socket]
    ) -> None:
        self.name, self.folder, self.reserved = name, folder, reserved
        self.port = free_port(APP_PORTS, reserved)
        self.env = {**env, "BIND": f"127.0.0.1:{self.port}"}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        release(self.reserved, self.port)
        metrics = self.folder / f"{self.name}-metrics"
        runtime = self.folder / f"{self.name}-run"
        metrics.mkdir(exist_ok=True)
        runtime.mkdir(mode=0o700, exist_ok=True)
        env = {
            **self.env,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            # Each instance's own gunicorn control socket.
            "XDG_RUNTIME_DIR": str(runtime),
        }
        with (self.folder / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [Path(PYTHON).parent / "gunicorn", "--config", "gunicorn.conf.py",
                 "api_project.wsgi:application"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while call(self.port, "GET", "/readyz")[0] != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: see {self.folder}")
            time.sleep(0.2)

    def terminate(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> float:
        """Sends `sig` to the master and waits for the instance to stop; the seconds it took."""
        assert self.process is not None
        start = time.monotonic()
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        return time.monotonic() - start

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def statements(self) -> Counter[str]:
        """conduit_db_statements_total by database, from this instance's /metrics."""
        status, text = call(self.port, "GET", "/metrics", parse=False)
        if status != 200:
            raise RuntimeError(f"{self.name}: /metrics answered {status}")
        counts: Counter[str] = Counter()
        for line in text.splitlines():
            if line.startswith("conduit_db_statements_total{"):
                name = line.split('database="', 1)[1].split('"', 1)[0]
                counts[name] += int(float(line.rsplit(" ", 1)[1]))
        return counts


HAPROXY_CONFIG = """\
global
    maxconn 1000
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    # A request that failed is sent again, to the other instance each time...
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response response-timeout 503

frontend api
    bind 127.0.0.1:{port}
    default_backend app

backend app
    balance roundrobin
    # ...but only a request that changes nothing is sent again once the instance got it. PUT
    # and DELETE are idempotent in HTTP's sense, yet a replay after a success answers otherwise
    # (a renamed or deleted article's slug is then a 404), and a POST would be written twice.
    # Connection failures are retried whatever the method: the request never arrived.
    http-request disable-l7-retry unless METH_GET || METH_OPTIONS
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}
"""


class HAProxy:
    def __init__(self, folder: Path, port: int, apps: list[App]) -> None:
        self.port, self.socket = port, folder / "haproxy.sock"
        servers = "\n".join(f"    server {a.name} 127.0.0.1:{a.port} check" for a in apps)
        self.config = folder / "haproxy.cfg"
        self.config.write_text(
            HAPROXY_CONFIG.format(socket=self.socket, port=port, servers=servers)
        )
        run("haproxy", "-c", "-q", "-f", self.config)
        self.process = subprocess.Popen(
            ["haproxy", "-db", "-f", str(self.config)],
            stdout=(folder / "haproxy.log").open("ab"),
            stderr=subprocess.STDOUT,
        )

    def states(self) -> dict[str, str]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
        return {r["svname"]: r["status"] for r in rows if r["pxname"] == "app"}

    def wait_until(self, server: str, state: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):  # its socket is there once it has started
                if self.states().get(server) == state:
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy: {server} did not become {state}")
            time.sleep(0.1)


# --- Requests ---------------------------------------------------------------------------------


def call(
    port: int,
    method: str,
    path: str,
    body: dict | None = None,
    token: str | None = None,
    parse: bool = True,
) -> tuple[int, Any]:
    """(status, JSON body) of one request on a new connection; status 0 when it failed below
    HTTP."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, json.dumps(body) if body else None, headers)
        response = connection.getresponse()
        data = response.read()
        if not parse:
            return response.status, data.decode()
        is_json = response.getheader("Content-Type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json and data else data.decode()
    except (OSError, http.client.HTTPException) as error:
        return 0, str(error)
    finally:
        connection.close()


def register(port: int, name: str) -> str:
    user = {"username": name, "email": f"{name}@example.com", "password": "password1"}
    status, body = call(port, "POST", "/api/users", {"user": user})
    if status != 201:
        raise RuntimeError(f"registering {name}: {status} {body}")
    return body["user"]["token"]


_titles = itertools.count()
# The status of a response cut short: its headers came, its body never did.
CUT = -1


def new_article(run_id: str) -> dict:
    return {"article": {"title": f"Topology {run_id} {next(_titles)}", "description": "d",
                        "body": "b", "tagList": ["scale"]}}  # fmt: skip


@dataclass
class Load:
    """Threads through the load balancer until stopped: anonymous lists, signed-in reads of an
    article, and article writes; every answer is kept."""

    port: int
    token: str
    slug: str
    run_id: str
    threads: int = 6
    answers: list[tuple[str, int]] = field(default_factory=list)
    # What went wrong below HTTP (status 0), for the report.
    broken: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    running: bool = True

    def work(self, number: int) -> None:
        for count in itertools.count():
            if not self.running:
                return
            kind = ("list", "article", "write")[(number + count) % 3]
            if kind == "write":
                status, body = call(self.port, "POST", "/api/articles", new_article(self.run_id),
                                    token=self.token)  # fmt: skip
                if status == 201:
                    self.acknowledged.append(body["article"]["slug"])
            elif kind == "article":
                status, body = call(
                    self.port, "GET", f"/api/articles/{self.slug}", token=self.token
                )
            else:
                status, body = call(self.port, "GET", "/api/articles?limit=5")
            if status == 0 and body.startswith("IncompleteRead"):
                status = CUT
            elif status == 0:
                self.broken.append(f"{kind}: {body}")
            self.answers.append((kind, status))

    @contextlib.contextmanager
    def running_for(self) -> Iterator[Load]:
        workers = [threading.Thread(target=self.work, args=(n,), daemon=True)
                   for n in range(self.threads)]  # fmt: skip
        for worker in workers:
            worker.start()
        try:
            yield self
        finally:
            self.running = False
            for worker in workers:
                worker.join(timeout=60)

    def failed(
        self, kinds: tuple[str, ...] = ("list", "article", "write"), *, but_cut: bool = False
    ) -> list[int]:
        """The statuses of failed answers; `but_cut` leaves out responses cut short."""
        ok = {200, 201, CUT} if but_cut else {200, 201}
        return [status for kind, status in self.answers if kind in kinds and status not in ok]

    def cut(self, kinds: tuple[str, ...]) -> int:
        return sum(1 for kind, status in self.answers if kind in kinds and status == CUT)

    def summary(self) -> str:
        statuses = Counter(status for _, status in self.answers)
        named = {("cut short" if k == CUT else k): n for k, n in sorted(statuses.items())}
        broken = f" (0: {'; '.join(self.broken)})" if self.broken else ""
        return f"{len(self.answers)} requests, statuses {named}{broken}"


# --- The topology -----------------------------------------------------------------------------


class Topology:
    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.stack = stack
        self.folder = Path(tempfile.mkdtemp(prefix="conduit-topology-"))
        stack.callback(shutil.rmtree, self.folder, ignore_errors=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self.run_id = uuid.uuid4().hex[:8]
        self.prefix = f"scale-topology-{self.run_id}"
        self.reserved: dict[int, socket.socket] = {}
        stack.callback(self.release_ports)
        self.primary = Cluster(self.folder / "primary", self.reserved)
        self.standby = Cluster(self.folder / "standby", self.reserved)
        self.port = free_port(APP_PORTS, self.reserved)

    def start(self) -> None:
        started = time.monotonic()
        run(PG_BIN / "initdb", "-D", self.primary.data, "-A", "trust", "-U", "postgres",
            "--no-sync", as_postgres=True)  # fmt: skip
        self.primary.start()
        self.stack.callback(self.stop_cluster, self.primary)
        self.primary.sql("CREATE DATABASE conduit", database="postgres")
        env = self.app_env()
        run(PYTHON, "manage.py", "migrate", "-v0", cwd=ROOT, env=env)

        run(PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", self.primary.port, "-U",
            "postgres", "-D", self.standby.data, "-R", "-X", "stream", "-c", "fast",
            as_postgres=True)  # fmt: skip
        with (self.standby.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"recovery_min_apply_delay = '{APPLY_DELAY}'\n")
        self.standby.start()
        self.stack.callback(self.stop_cluster, self.standby)
        if self.standby.sql("SELECT pg_is_in_recovery()") != "t":
            raise RuntimeError("the standby is not in recovery")

        self.stack.callback(self.forget_redis_keys)
        self.apps = [App(f"app{n}", env, self.folder, self.reserved) for n in (1, 2)]
        for app in self.apps:
            self.stack.callback(self.stop_app, app)
            app.start()
        release(self.reserved, self.port)
        self.haproxy = HAProxy(self.folder, self.port, self.apps)
        self.stack.callback(self.stop_haproxy)
        for app in self.apps:
            self.haproxy.wait_until(app.name, "UP")
        print(
            f"Started in {time.monotonic() - started:.0f} s under {self.folder}:\n"
            f"  PostgreSQL 15 primary :{self.primary.port}; standby :{self.standby.port} "
            f"(pg_basebackup -R, recovery_min_apply_delay {APPLY_DELAY})\n"
            f"  Redis {REDIS_URL}, keys prefixed {self.prefix}\n"
            f"  gunicorn app1 :{self.apps[0].port} and app2 :{self.apps[1].port} "
            f"(2 workers each); HAProxy :{self.port}",
            flush=True,
        )

    def app_env(self) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "DEBUG": "false",
            "SECRET_KEY": f"topology-{self.run_id}-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": self.primary.url,
            "DATABASE_REPLICA_URLS": self.standby.url,
            "DATABASE_CONNECT_TIMEOUT": "2",
            "DATABASE_REPLICA_RETRY_SECONDS": str(REPLICA_RETRY_SECONDS),
            "DATABASE_REPLICA_CHECK_SECONDS": "1",
            "REDIS_URL": REDIS_URL,
            "CACHE_KEY_PREFIX": self.prefix,
            "METRICS_ENABLED": "true",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_DRAIN_SECONDS": str(DRAIN_SECONDS),
            "GUNICORN_GRACEFUL_TIMEOUT": "20",
            "LOG_LEVEL": "WARNING",
            **{
                f"RATE_LIMIT_{scope}": "off"
                for scope in ("WRITE", "ARTICLE_WRITE", "REGISTRATION_IP", "REGISTRATION_ACCOUNT")
            },
        }

    # Cleanups, run in reverse order of starting, whatever happened.

    def stop_haproxy(self) -> None:
        self.haproxy.process.terminate()
        self.haproxy.process.wait(timeout=30)

    @staticmethod
    def stop_app(app: App) -> None:
        if app.process is not None and app.process.poll() is None:
            app.terminate(signal.SIGINT, timeout=30)  # a quick stop: nothing to drain for

    @staticmethod
    def stop_cluster(cluster: Cluster) -> None:
        if cluster.running():
            cluster.stop()

    def release_ports(self) -> None:
        for port in list(self.reserved):
            release(self.reserved, port)

    def forget_redis_keys(self) -> None:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{self.prefix}:*", count=1000):
            client.delete(key)
        client.close()

    # Helpers of the checks.

    def statements(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for app in self.apps:
            total += app.statements()
        return total

    def logged(self, text: str) -> int:
        """Lines of the instances' logs so far that hold `text`."""
        return sum(
            log.read_text(errors="replace").count(text) for log in self.folder.glob("app*.log")
        )

    def lost(self, acknowledged: list[str]) -> list[str]:
        stored = set(self.primary.sql("SELECT slug FROM resources_article").split())
        return [slug for slug in acknowledged if slug not in stored]

    def load(self, token: str, slug: str) -> Load:
        return Load(self.port, token, slug, self.run_id)


def check(label: str, passed: bool, results: list[bool]) -> None:
    results.append(passed)
    print(f"   {'ok' if passed else 'FAILED'}: {label}", flush=True)


def create_then_read(topology: Topology, pairs: int, results: list[bool]) -> None:
    print(f"1. {pairs:,} create-then-read pairs across requests by one user", flush=True)
    token = register(topology.port, f"writer-{topology.run_id}")
    outcomes: Counter[str] = Counter()
    control: Counter[int] = Counter()
    lock = threading.Lock()
    threads = 4

    def pair_up(number: int) -> None:
        for count in range(number, pairs, threads):
            status, body = call(topology.port, "POST", "/api/articles",
                                new_article(topology.run_id), token=token)  # fmt: skip
            if status != 201:
                with lock:
                    outcomes[f"create {status}"] += 1
                continue
            slug = body["article"]["slug"]
            read, _ = call(topology.port, "GET", f"/api/articles/{slug}", token=token)
            # Every tenth: the same read by someone with no write to wait for.
            anonymous = (
                call(topology.port, "GET", f"/api/articles/{slug}")[0] if count % 10 == 0 else None
            )
            with lock:
                outcomes["found" if read == 200 else f"read {read}"] += 1
                if anonymous is not None:
                    control[anonymous] += 1

    started = time.monotonic()
    workers = [threading.Thread(target=pair_up, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(f"   {dict(outcomes)} in {time.monotonic() - started:.0f} s", flush=True)
    missed = control[404]
    print(
        f"   control: anonymous reads right after a create (no write of theirs to wait for): "
        f"{missed} of {control.total()} not found on the lagging standby",
        flush=True,
    )
    check("0 not found, every pair read back", outcomes["found"] == pairs, results)
    check("the standby lags: the control reads missed", missed > 0, results)


def readers_on_the_replica(topology: Topology, results: list[bool]) -> None:
    print("2. Readers with no recent write are served by the standby", flush=True)
    token = register(topology.port, f"reader-{topology.run_id}")
    time.sleep(2)  # the standby replays the registration: the reader's own write
    before = topology.statements()
    anonymous, signed_in = 300, 100
    for _ in range(anonymous):
        call(topology.port, "GET", "/api/articles?limit=5")
    for _ in range(signed_in):
        call(topology.port, "GET", "/api/articles?limit=5", token=token)
    after = topology.statements()
    replica = after["replica"] - before["replica"]
    primary = after["default"] - before["default"]
    # One statement per list, its page; signed in, also the reader's row the first time a
    # process sees the token (it then remembers it for TOKEN_USER_CACHE_SECONDS).
    expected = anonymous + signed_in
    print(
        f"   {anonymous} anonymous and {signed_in} signed-in lists: {replica} statements on the "
        f"standby, {primary} on the primary (HAProxy's /readyz probes, position checks)",
        flush=True,
    )
    check(f"at least {expected} statements on the standby", replica >= expected, results)


def replica_stopped(topology: Topology, token: str, slug: str, results: list[bool]) -> None:
    print("3. The standby stopped under load", flush=True)
    with topology.load(token, slug).running_for() as load:
        time.sleep(2)
        topology.standby.stop()
        time.sleep(4)
    skipped = topology.logged("Replica replica skipped")
    again = topology.logged("failed under a request")
    print(f"   {load.summary()}", flush=True)
    print(
        f"   the instances' workers skipped the stopped standby {skipped} times; {again} reads "
        f"it failed under were answered again from the primary",
        flush=True,
    )
    check("0 failed requests", not load.failed(), results)
    check("0 acknowledged writes lost", not topology.lost(load.acknowledged), results)

    topology.standby.start()
    restarted = time.monotonic()
    before = topology.statements()["replica"]
    back = None
    while time.monotonic() - restarted < 30:
        for _ in range(10):
            call(topology.port, "GET", "/api/articles?limit=5")
        if topology.statements()["replica"] > before:
            back = time.monotonic() - restarted
            break
        time.sleep(0.2)
    print(f"   started again: reads back on it after {back or 0:.1f} s", flush=True)
    check(f"back in use (skipped for {REPLICA_RETRY_SECONDS} s at a time)", back is not None,
          results)  # fmt: skip


def instance_killed(topology: Topology, token: str, slug: str, results: list[bool]) -> None:
    print("4. One app instance killed with SIGKILL under load", flush=True)
    victim = topology.apps[0]
    with topology.load(token, slug).running_for() as load:
        time.sleep(2)
        victim.kill()
        time.sleep(4)
    reads = ("list", "article")
    cut_writes = load.failed(("write",))
    lost = topology.lost(load.acknowledged)
    print(f"   {load.summary()}", flush=True)
    print(
        f"   writes the kill cut off (not acknowledged; a POST is never sent twice): "
        f"{len(cut_writes)}; acknowledged writes: {len(load.acknowledged)}, lost: {len(lost)}; "
        f"reads cut short after their headers were forwarded (no proxy can retry those): "
        f"{load.cut(reads)}",
        flush=True,
    )
    check("0 reads failed before their answer began (HAProxy sent them to the other instance)",
          not load.failed(reads, but_cut=True), results)  # fmt: skip
    check("0 acknowledged writes lost", not lost, results)
    victim.start()
    topology.haproxy.wait_until(victim.name, "UP")


def rolling_restart(topology: Topology, token: str, slug: str, results: list[bool]) -> None:
    print("5. A rolling restart of both instances under load", flush=True)
    timings = []
    with topology.load(token, slug).running_for() as load:
        time.sleep(2)
        for app in topology.apps:
            stopped = app.terminate()
            down = topology.haproxy.states()[app.name]
            app.start()
            topology.haproxy.wait_until(app.name, "UP")
            timings.append(f"{app.name} stopped in {stopped:.1f} s (HAProxy: {down})")
        time.sleep(2)
    print(f"   {'; '.join(timings)}", flush=True)
    print(f"   {load.summary()}", flush=True)
    check("0 failed requests", not load.failed(), results)
    check("0 acknowledged writes lost", not topology.lost(load.acknowledged), results)


def print_logs(topology: Topology) -> None:
    for log in sorted(topology.folder.glob("*.log")):
        print(f"--- the end of {log.name}\n{log.read_text(errors='replace')[-3000:]}", flush=True)


def main() -> int:
    pairs = int(os.environ.get("TOPOLOGY_PAIRS", 1000))
    results: list[bool] = []
    started = time.monotonic()
    # SIGTERM stops the script as Ctrl-C does: through the cleanups.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.ExitStack() as stack:
        topology = Topology(stack)
        try:
            topology.start()
            token = register(topology.port, f"loader-{topology.run_id}")
            _, body = call(topology.port, "POST", "/api/articles",
                           new_article(topology.run_id), token=token)  # fmt: skip
            slug = body["article"]["slug"]
            create_then_read(topology, pairs, results)
            readers_on_the_replica(topology, results)
            replica_stopped(topology, token, slug, results)
            instance_killed(topology, token, slug, results)
            rolling_restart(topology, token, slug, results)
        except BaseException:
            print("Stopped early.", flush=True)
            print_logs(topology)
            raise
        passed = bool(results) and all(results)
        if not passed:
            print_logs(topology)
    print(f"{'PASSED' if passed else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
