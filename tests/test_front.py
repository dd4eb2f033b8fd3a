"""The production front (deploy/launch.py: nginx in front of gunicorn), as the container and
`dev.py prod` run it: the launcher starts and stops every process, nginx enforces its limits with
JSON answers, and health checks, request ids, access logs and per-address rate limits hold
through it."""

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.tools import (
    RawResponse,
    Server,
    chunked,
    front,
    migrated_sqlite,
    raw_http,
    redis_space,
)

HEADER_TIMEOUT = 2
REQUEST_TIMEOUT = 3
PER_CLIENT = 4
LIMIT = 1024 * 1024

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """One front for the module, with short timeouts and a small per-address limit, so that
    tests can go past them quickly."""
    with redis_space() as redis:
        env = {
            "DATABASE_URL": migrated_sqlite(tmp_path_factory.mktemp("front")),
            **redis.server_env(),
            "NGINX_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
            "NGINX_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
            "NGINX_KEEPALIVE_TIMEOUT": "2",
            "NGINX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
            "RATE_LIMIT_LOGIN_IP": "3/day",
        }
        with front(env, workers=2) as server:
            yield server


def address(server: Server) -> tuple[str, int]:
    url = urlsplit(server.url)
    return url.hostname or "", url.port or 80


def head(method: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def call(
    server: Server,
    method: str,
    path: str,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
    source: str | None = None,
) -> RawResponse:
    data = json.dumps(body).encode() if body is not None else b""
    if body is not None:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))} | (
            headers or {}
        )
    return raw_http(address(server), [head(method, path, headers), data], source=source)


def log_lines(server: Server) -> list[dict]:
    return [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]


# --- Through the front, everything else still holds -------------------------------------------


def test_health_checks_answer_through_the_front(server):
    assert call(server, "GET", "/healthz").json() == {"status": "ok"}
    ready = call(server, "GET", "/readyz")
    assert ready.status == 200
    assert ready.json()["status"] == "ready"


@pytest.mark.parametrize("path", ["/_front/413", "/api/nothing"])
def test_unknown_urls_are_json_404_through_the_front(server, path):
    response = call(server, "GET", path)

    assert response.status == 404
    assert response.json() == {"errors": {"body": ["Not found."]}}


def test_request_ids_and_the_real_client_address_reach_the_app_log(server):
    kept = call(
        server, "GET", "/api/tags", headers={"X-Request-ID": "front-id-1"}, source="127.0.0.2"
    )
    # A client cannot choose the address it is counted and logged under.
    made = call(
        server, "GET", "/api/tags", headers={"X-Forwarded-For": "6.6.6.6"}, source="127.0.0.2"
    )

    assert (kept.status, kept.headers["x-request-id"]) == (200, "front-id-1")
    assert made.status == 200
    assert len(made.headers["x-request-id"]) == 32
    time.sleep(0.5)
    lines = {line.get("request_id"): line for line in log_lines(server)}
    assert lines["front-id-1"]["logger"] == "conduit.request"
    assert lines["front-id-1"]["client_ip"] == "127.0.0.2"
    assert lines[made.headers["x-request-id"]]["client_ip"] == "127.0.0.2"


def test_rate_limits_count_per_real_client_address(server):
    statuses = [
        call(
            server,
            "POST",
            "/api/users/login",
            {"user": {"email": f"nobody{n}@example.com", "password": "wrong-password"}},
            headers={"X-Forwarded-For": f"10.0.0.{n}"},
            source="127.0.0.3",
        ).status
        for n in range(4)
    ]
    elsewhere = call(
        server,
        "POST",
        "/api/users/login",
        {"user": {"email": "nobody@example.com", "password": "wrong-password"}},
        source="127.0.0.4",
    )

    assert statuses == [401, 401, 401, 429]
    assert elsewhere.status == 401


def test_a_chunked_body_is_read_through_the_front(server):
    user = {"username": "chunked", "email": "chunked@example.com", "password": "password1"}
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}

    response = raw_http(
        address(server),
        [head("POST", "/api/users", headers), *chunked(json.dumps({"user": user}).encode(), 9)],
    )

    assert response.status == 201, response.body


def test_a_body_of_exactly_the_limit_is_not_refused(server):
    user = {"username": "biggest", "email": "biggest@example.com", "password": "password1"}
    body = json.dumps({"user": user}).encode()
    body = body[:-1] + b" " * (LIMIT - len(body)) + b"}"
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}

    response = raw_http(address(server), [head("POST", "/api/users", headers), body])

    assert response.status == 201, response.body


# --- The limits nginx enforces, each answered in the API's JSON -------------------------------


@pytest.mark.parametrize("encoding", ["Content-Length", "chunked"])
def test_a_body_over_the_limit_is_the_apis_413(server, encoding):
    body = b"x" * (LIMIT + 1)
    if encoding == "chunked":
        parts = [head("POST", "/api/users", {"Transfer-Encoding": "chunked"}), *chunked(body)]
    else:
        parts = [head("POST", "/api/users", {"Content-Length": str(len(body))}), body]

    response = raw_http(address(server), parts)

    assert response.status == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "errors": {"body": [f"Request body is larger than the limit of {LIMIT} bytes."]}
    }
    time.sleep(0.5)
    [line] = [
        line
        for line in log_lines(server)
        if line.get("request_id") == response.headers["x-request-id"]
    ]
    assert (line["logger"], line["status"], line["client_ip"]) == ("nginx", 413, "127.0.0.1")


@pytest.mark.parametrize(
    ("request_head", "status", "message"),
    [
        (head("GET", "/api/articles?q=" + "x" * 20_000), 414, "The request line is too long."),
        (
            head("GET", "/api/articles", {"X-Big": "x" * 20_000}),
            400,
            "Malformed request, or its headers are too large.",
        ),
    ],
    ids=["request line", "header"],
)
def test_oversized_request_lines_and_headers_are_refused_in_json(
    server, request_head, status, message
):
    response = raw_http(address(server), [request_head])

    assert response.status == status
    assert response.json() == {"errors": {"body": [message]}}


def test_a_body_that_trickles_past_the_request_deadline_is_408(server):
    sock = socket.create_connection(address(server), timeout=10)
    sock.sendall(head("POST", "/api/users", {"Content-Length": "1000"}))
    start = time.monotonic()
    try:
        while time.monotonic() - start < REQUEST_TIMEOUT + 5:
            sock.sendall(b" ")
            time.sleep(0.5)
    except OSError:
        pass
    answer = sock.recv(65536)
    sock.close()

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.split(b"\r\n\r\n", 1)[1] == (
        b'{"errors":{"body":["The request did not arrive within 3 seconds."]}}'
    )


def test_headers_that_trickle_past_their_timeout_are_cut(server):
    sock = socket.create_connection(address(server), timeout=10)
    start = time.monotonic()
    sock.sendall(b"GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    closed_after = None
    try:
        for n in range(20):
            sock.sendall(f"X-Slow-{n}: 1\r\n".encode())
            time.sleep(0.5)
            sock.setblocking(False)
            try:
                if sock.recv(1) == b"":
                    closed_after = time.monotonic() - start
                    break
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
    except OSError:
        closed_after = time.monotonic() - start
    sock.close()

    assert closed_after is not None
    assert HEADER_TIMEOUT - 0.5 < closed_after < HEADER_TIMEOUT + 2


def test_more_requests_at_once_than_an_address_may_hold_get_429(server):
    held = []
    for _ in range(PER_CLIENT):
        sock = socket.create_connection(address(server), source_address=("127.0.0.5", 0))
        sock.sendall(head("POST", "/api/users", {"Content-Length": "100"}) + b"{")
        held.append(sock)
    time.sleep(0.3)
    try:
        over = call(server, "GET", "/api/tags", source="127.0.0.5")
        other = call(server, "GET", "/api/tags", source="127.0.0.6")
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    after = call(server, "GET", "/api/tags", source="127.0.0.5")

    assert over.status == 429
    assert over.headers["retry-after"] == "1"
    assert over.json()["errors"]["body"][0].startswith("Too many requests at once")
    assert other.status == 200
    assert after.status == 200


def test_keep_alive_serves_several_requests_then_closes_when_idle(server):
    sock = socket.create_connection(address(server), timeout=10)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answers = b""
    for _ in range(3):
        sock.sendall(request)
        time.sleep(0.2)
        answers += sock.recv(65536)
    start = time.monotonic()
    sock.settimeout(10)
    closed = sock.recv(1) == b""
    idle = time.monotonic() - start
    sock.close()

    assert answers.count(b"HTTP/1.1 200 OK") == 3
    assert closed
    assert 1 < idle < 4


# --- The launcher starts and stops every process ----------------------------------------------


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process below `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found += [(child, command.strip()), *children(child)]
    return found


def booted_children(pid: int, gunicorns: int) -> list[tuple[int, str]]:
    """children(pid) once gunicorn's master and workers are all there: the stack answers as
    soon as one worker has booted, and on a loaded machine the others come a moment later."""
    deadline = time.monotonic() + 30
    while True:
        processes = children(pid)
        if sum("gunicorn" in c for _, c in processes) >= gunicorns or time.monotonic() > deadline:
            return processes
        time.sleep(0.1)


def run_folder(processes: list[tuple[int, str]]) -> Path:
    """The launcher's run folder, named by nginx's command line (`-p FOLDER`)."""
    nginx = next(command for _, command in processes if "nginx: master" in command)
    return Path(nginx.split(" -p ")[1].split()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_launcher_stops_everything_it_started(tmp_path, sig):
    with front({"DATABASE_URL": migrated_sqlite(tmp_path)}, workers=2) as server:
        processes = booted_children(server.process.pid, gunicorns=3)
        commands = [command for _, command in processes]
        run_dir = run_folder(processes)
        assert run_dir.is_dir()
        assert call(server, "GET", "/api/tags").status == 200

        server.process.send_signal(sig)
        assert server.process.wait(timeout=60) == 0
        output = server.output()

    assert sum("gunicorn" in c for c in commands) == 3  # the master and two workers
    assert sum("nginx: master" in c for c in commands) == 1
    assert sum("nginx: worker" in c for c in commands) >= 1
    assert [pid for pid, _ in processes if alive(pid)] == []
    assert not run_dir.exists()
    assert "Shutting down: Master" in output
    assert "[launch] stopped (status 0)" in output


def test_metrics_add_up_through_the_front_and_go_with_it(tmp_path):
    env = {"DATABASE_URL": migrated_sqlite(tmp_path), "METRICS_ENABLED": "true"}
    with front(env, workers=2) as server:
        for _ in range(10):
            assert call(server, "GET", "/api/tags").status == 200
        metrics = call(server, "GET", "/metrics").body.decode()
        run_dir = run_folder(children(server.process.pid))
        assert list((run_dir / "metrics").glob("*.db"))

    [line] = [
        row
        for row in metrics.splitlines()
        if row.startswith("conduit_http_requests_total{") and 'view="tag-list"' in row
    ]
    assert float(line.rsplit(" ", 1)[1]) == 10
    assert not run_dir.exists()


def test_the_launcher_stops_gunicorn_when_nginx_dies(tmp_path):
    with front({"DATABASE_URL": migrated_sqlite(tmp_path)}) as server:
        processes = children(server.process.pid)
        [nginx] = [pid for pid, command in processes if "nginx: master" in command]

        os.kill(nginx, signal.SIGKILL)
        status = server.process.wait(timeout=60)

    assert status != 0
    assert [pid for pid, _ in processes if alive(pid)] == []
