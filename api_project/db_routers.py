"""Read replicas: which database answers a request's reads, keeping read-your-writes across
requests. Active when DATABASE_REPLICA_URLS (or DATABASE_REPLICA_URL) names replicas.

- A request that may write (any method but GET, HEAD and OPTIONS) reads and writes on the primary
  throughout, as Rails' database selector does: what it checks before writing (who the user is,
  whether a title is taken) is current. So does every request to the admin, whose session
  cookie names no user before the session is read.
- After a request wrote, the primary's WAL position (`pg_current_wal_insert_lsn()`) is kept in
  the shared cache, for DATABASE_STICKY_SECONDS, under each user the request wrote for: the
  signed-in user, and a user it registered. This is GitLab's "sticky" load balancing.
- A read-only request by a user with such a position reads from a replica that has replayed it
  (`pg_last_wal_replay_lsn()`), or else from the primary. Anonymous readers, and users with no
  recent write, read from any usable replica and pay for no position check.
- Each process remembers how far each replica had replayed when it last asked, so a sticky
  reader costs at most one check (of the most advanced replica) and none once a replica is
  known to have their write. Every DATABASE_REPLICA_CHECK_SECONDS a replica in use is asked
  again; one that is down or further behind than DATABASE_REPLICA_MAX_LAG_SECONDS is skipped
  for DATABASE_REPLICA_RETRY_SECONDS. A read whose replica fails mid-request is answered again
  from the primary (resources.middleware.ReadReplicaMiddleware), so a replica going away fails
  no request.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.db.models.signals import post_save

logger = logging.getLogger(__name__)

PRIMARY = "default"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A position no replica can reach: a write on a primary that has no WAL positions keeps its
# writer on the primary for the sticky time.
ON_PRIMARY_ONLY = math.inf
# The position of a replica that is not in recovery: as current as a primary.
NOT_A_STANDBY = math.inf
NOT_CHECKED = -math.inf


def lsn(text: str) -> int:
    """A PostgreSQL WAL position ("16/B374D848") as a number that orders like the position."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


# --- What this process knows of its replicas --------------------------------------------------


@dataclass
class ReplicaStatus:
    replayed: float = NOT_CHECKED
    checked_at: float = NOT_CHECKED
    paused_until: float = NOT_CHECKED


class ReplicaPool:
    """Chooses the database for a read-only request's reads. `connect(alias)` makes sure a
    replica answers (Django's health check of a kept connection, or a new one); `probe(alias)`
    asks it for (position replayed, seconds behind). Both raise DatabaseError when it is down."""

    def __init__(
        self,
        aliases: Sequence[str],
        *,
        max_lag: float,
        retry_after: float,
        check_every: float,
        connect: Callable[[str], None],
        probe: Callable[[str], tuple[float, float]],
        clock: Callable[[], float] = time.monotonic,
        choice: Callable[[Sequence[str]], str] = random.choice,
    ) -> None:
        self.status = {alias: ReplicaStatus() for alias in aliases}
        self.max_lag, self.retry_after, self.check_every = max_lag, retry_after, check_every
        self.connect, self.probe, self.clock, self.choice = connect, probe, clock, choice

    def choose(self, position: float | None) -> str:
        """A usable replica that has replayed `position` (the reader's last write; None when
        they have none), or the primary."""
        now = self.clock()
        usable = [alias for alias, s in self.status.items() if s.paused_until <= now]
        if not usable:
            return PRIMARY
        if position is not None:
            caught_up = [alias for alias in usable if self.status[alias].replayed >= position]
            if not caught_up:
                # Only the most advanced replica is asked: one check, whatever their number.
                furthest = max(self.status[alias].replayed for alias in usable)
                alias = self.choice([a for a in usable if self.status[a].replayed == furthest])
                if self.check(alias) and self.status[alias].replayed >= position:
                    return alias
                return PRIMARY
            usable = caught_up
        alias = self.choice(usable)
        if now - self.status[alias].checked_at >= self.check_every:
            return alias if self.check(alias) else PRIMARY
        try:
            self.connect(alias)
        except DatabaseError as error:
            self.pause(alias, f"unreachable ({error.__class__.__name__})")
            return PRIMARY
        return alias

    def check(self, alias: str) -> bool:
        """Asks a replica how far it has replayed; False (and skipped for a while) when it is
        down or lags past the bound."""
        status = self.status[alias]
        try:
            status.replayed, lag = self.probe(alias)
        except DatabaseError as error:
            self.pause(alias, f"unreachable ({error.__class__.__name__})")
            return False
        status.checked_at = self.clock()
        if lag > self.max_lag:
            self.pause(alias, f"{lag:.1f} s behind the primary")
            return False
        return True

    def pause(self, alias: str, reason: str) -> None:
        self.status[alias].paused_until = self.clock() + self.retry_after
        logger.warning("Replica %s skipped for %s s: %s", alias, self.retry_after, reason)

    def paused(self, alias: str) -> bool:
        return self.status[alias].paused_until > self.clock()


def _connect(alias: str) -> None:
    connection = connections[alias]
    connection.close_if_health_check_failed()
    connection.ensure_connection()


# Seconds behind: 0 when everything received is replayed (an idle primary sends nothing, and the
# last replayed transaction's age would then grow for no reason), else the age of the last
# transaction replayed.
PROBE_SQL = """
SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END
"""


def _probe(alias: str) -> tuple[float, float]:
    _connect(alias)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return NOT_A_STANDBY, 0.0
    with connection.cursor() as cursor:
        cursor.execute(PROBE_SQL)
        in_recovery, replayed, lag = cursor.fetchone()
    if not in_recovery:
        return NOT_A_STANDBY, 0.0
    return (lsn(replayed) if replayed else NOT_CHECKED), float(lag)


@functools.cache
def replica_pool() -> ReplicaPool:
    """This process's pool (one per process, like Django's connections), made on first use."""
    return ReplicaPool(
        replica_aliases(),
        max_lag=settings.DATABASE_REPLICA_MAX_LAG_SECONDS,
        retry_after=settings.DATABASE_REPLICA_RETRY_SECONDS,
        check_every=settings.DATABASE_REPLICA_CHECK_SECONDS,
        connect=_connect,
        probe=_probe,
    )


# --- One request's routing --------------------------------------------------------------------


@dataclass
class Routing:
    primary_only: bool
    authorization: str
    # The database chosen for the request's reads, on the first read.
    alias: str | None = None
    wrote: bool = False
    registered: set[int] = field(default_factory=set)
    # The replica that failed under the request, and whether it looks down (rather than having
    # cancelled one query for a conflict with recovery).
    failed_replica: tuple[str, bool] | None = None

    def use_primary(self) -> None:
        """After its replica failed: the request is answered again, from the primary."""
        if self.failed_replica is not None:
            alias, down = self.failed_replica
            if down:
                replica_pool().pause(alias, "it failed under a request")
        self.alias, self.failed_replica = PRIMARY, None


_routing: ContextVar[Routing | None] = ContextVar("conduit_routing", default=None)

STICKY_KEY = "read-your-writes:{user_id}"


def read_from_primary() -> None:
    """Sends the rest of this request's reads to the primary (a read whose answer goes into the
    shared response cache must not keep a replica's lag there). Outside a request with routing,
    reads go to the primary anyway."""
    routing = _routing.get()
    if routing is not None:
        routing.primary_only = True


def _last_write(routing: Routing) -> float | None:
    from resources.authentication import header_subject

    user_id = header_subject(routing.authorization) if routing.authorization else None
    if user_id is None:
        return None
    return cache.get(STICKY_KEY.format(user_id=user_id))


# Connection failures (class 08), and a server shutting down or starting (57P01-57P03).
_REPLICA_DOWN = ("08", "57P01", "57P02", "57P03")
# A query cancelled because it conflicted with WAL replay: the replica is fine.
_RECOVERY_CONFLICT = "40001"


def replica_failure(error: Exception) -> bool | None:
    """Whether a replica's error means it is down (True), cancelled a query for a conflict with
    recovery (False), or neither (None: the error is the request's own)."""
    if not isinstance(error, (OperationalError, InterfaceError)):
        return None
    state = getattr(error.__cause__, "sqlstate", None)
    if state == _RECOVERY_CONFLICT:
        return False
    if state is None or state.startswith(_REPLICA_DOWN):
        return True
    return None


# The admin's pages: a session just written (at sign-in) must be found by the next request.
ADMIN_PATH = "/admin/"


@contextmanager
def request_routing(method: str, path: str, authorization: str) -> Iterator[Routing]:
    """The routing of one request, with every replica's failures under it noted."""
    primary_only = method not in READ_ONLY_METHODS or path.startswith(ADMIN_PATH)
    routing = Routing(primary_only=primary_only, authorization=authorization)

    def watch(alias: str) -> Callable[..., Any]:
        def execute(run: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
            try:
                return run(sql, params, many, context)
            except DatabaseError as error:
                # Only once chosen: a failed check while choosing is the pool's to handle.
                down = replica_failure(error)
                if routing.alias == alias and down is not None:
                    routing.failed_replica = (alias, down)
                raise

        return execute

    token = _routing.set(routing)
    try:
        with ExitStack() as stack:
            for alias in replica_aliases():
                stack.enter_context(connections[alias].execute_wrapper(watch(alias)))
            yield routing
    finally:
        _routing.reset(token)


def _user_registered(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    routing = _routing.get()
    if created and routing is not None:
        routing.registered.add(instance.pk)


post_save.connect(_user_registered, sender=settings.AUTH_USER_MODEL, dispatch_uid="conduit.rw")


def primary_position() -> float:
    """The primary's WAL position now, which covers every write committed so far."""
    connection = connections[PRIMARY]
    if connection.vendor != "postgresql":
        return ON_PRIMARY_ONLY
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        return lsn(cursor.fetchone()[0])


def remember_writes(routing: Routing, user: Any) -> None:
    """Keeps the primary's position for every user the request wrote for, so their next reads
    wait for a replica that has it. Called before the response leaves: the client's next
    request may come at once, to another server."""
    if not routing.wrote:
        return
    writers = set(routing.registered)
    if user is not None and user.is_authenticated:
        writers.add(user.pk)
    if not writers:
        return
    try:
        position = primary_position()
    except DatabaseError as error:
        # The write is committed; only its stickiness is lost, and the response still goes.
        logger.warning("Could not read the primary's WAL position: %s", error)
        return
    cache.set_many(
        {STICKY_KEY.format(user_id=writer): position for writer in writers},
        timeout=settings.DATABASE_STICKY_SECONDS,
    )


class PrimaryReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        routing = _routing.get()
        # Outside a request (commands, shells), and in a transaction, reads see the primary.
        if (
            routing is None
            or routing.primary_only
            or routing.wrote
            or connections[PRIMARY].in_atomic_block
        ):
            return PRIMARY
        if routing.alias is None:
            routing.alias = replica_pool().choose(_last_write(routing))
        return routing.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        routing = _routing.get()
        if routing is not None:
            routing.wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY
