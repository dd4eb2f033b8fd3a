"""How many CPUs the server may use (the container's CPU quota, else the CPUs it may run on), and
so how many gunicorn workers and nginx processes to start."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def parse_cpu_max(text: str) -> float | None:
    """cgroup v2's `cpu.max`: "max 100000" (no quota) or "150000 100000" (1.5 CPUs)."""
    fields = text.split()
    if not fields or fields[0] == "max":
        return None
    quota = int(fields[0])
    period = int(fields[1]) if len(fields) > 1 else 100_000
    return quota / period if quota > 0 and period > 0 else None


def parse_cfs_quota(quota: str, period: str) -> float | None:
    """cgroup v1's `cpu.cfs_quota_us` and `cpu.cfs_period_us`: a quota of -1 is none."""
    quota_us, period_us = int(quota), int(period)
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def cpu_quota(root: Path = CGROUP) -> float | None:
    """The CPUs a container runtime (docker --cpus, podman, Kubernetes limits) allows, or None
    where it sets no quota."""
    try:
        return parse_cpu_max((root / "cpu.max").read_text())
    except FileNotFoundError:
        pass
    for folder in (root / "cpu", root / "cpu,cpuacct"):
        try:
            quota = (folder / "cpu.cfs_quota_us").read_text()
            period = (folder / "cpu.cfs_period_us").read_text()
        except FileNotFoundError:
            continue
        return parse_cfs_quota(quota, period)
    return None


def available_cpus(root: Path = CGROUP) -> int:
    """The CPUs this process may run on, capped by the quota (1.5 CPUs of quota is 2 CPUs)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = cpu_quota(root)
    if quota is not None:
        return max(1, min(cpus or 1, math.ceil(quota)))
    return cpus or 1


def web_concurrency(environ: Mapping[str, str] = os.environ, root: Path = CGROUP) -> int:
    """gunicorn's worker count: WEB_CONCURRENCY when set, else 2 per CPU plus 1, gunicorn's own
    advice for sync workers, whose requests mostly wait on the database."""
    value = environ.get("WEB_CONCURRENCY", "").strip()
    if not value:
        return 2 * available_cpus(root) + 1
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"WEB_CONCURRENCY must be a whole number of workers, not {value!r}.")
    return int(value)
