"""Read replica routing, active when DATABASE_REPLICA_URL is set.

Reads go to the replica and writes to the primary. Once a request has written (or opened a
transaction), its later reads go to the primary too, so a client always reads its own writes
within its request, whatever the replica's lag."""

from contextvars import ContextVar
from typing import Any

from django.core.signals import request_started
from django.db import connections

_wrote: ContextVar[bool] = ContextVar("wrote_to_primary", default=False)


def _new_request(**kwargs: Any) -> None:
    _wrote.set(False)


request_started.connect(_new_request, dispatch_uid="conduit.db_routers")


class PrimaryReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str:
        if _wrote.get() or connections["default"].in_atomic_block:
            return "default"
        return "replica"

    def db_for_write(self, model: Any, **hints: Any) -> str:
        _wrote.set(True)
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"
