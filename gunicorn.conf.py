"""gunicorn settings for Conduit API (the container's command; see the README's deployment
section). Everything can be overridden from the environment."""

import os
import sys
import tempfile
from pathlib import Path

# gunicorn reads this file before it puts the working directory on the import path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy.cpu import web_concurrency

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers: each answers one request at a time, and a request is mostly database time. Their
# number follows the container's CPU quota (WEB_CONCURRENCY overrides it).
workers = web_concurrency()
worker_class = "sync"
# A request still running after this is killed (and its transaction rolled back).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
# On SIGTERM, in-flight requests get this long to finish before workers are stopped.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# Workers are replaced after about this many requests (with jitter, so not all at once),
# which bounds any slow growth of their memory.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 200))
# The app writes its own JSON access log; gunicorn's own lines go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Imported once in the master, then forked: less memory per worker, faster restarts.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() == "true"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket (for `gunicornc`) defaults to a folder in $HOME, which a system user
# in a container lacks; it exists only where asked for (deploy/launch.py puts it in its run folder).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

if os.environ.get("METRICS_ENABLED", "").lower() in {"1", "true", "yes", "on"}:
    # Workers write their metrics to files here, and /metrics (in any worker) adds them up.
    _metrics_dir = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="conduit-metrics-")
    )
    for stale in Path(_metrics_dir).glob("*.db"):
        stale.unlink()

    def child_exit(server, worker):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
