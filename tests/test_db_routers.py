"""Read replicas: the router's choices (unit tests with a replica that answers what a test says),
and, where DATABASE_REPLICA_URL is set (a pass of its own in .ci/run), read-your-writes and
failover over HTTP."""

import math
import random
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import OperationalError, ProgrammingError, connections
from django.test.utils import CaptureQueriesContext

from api_project import db_routers
from api_project.db_routers import PRIMARY, ReplicaPool, lsn, replica_failure
from resources.authentication import forget_verified_tokens, header_subject, token_issue
from resources.models import User
from tests import recipes


class FakeReplicas:
    """Replicas that answer what a test sets: how far each has replayed, how far behind it is,
    whether it is down. Counts the checks and connections the pool makes."""

    def __init__(self, *aliases: str) -> None:
        self.replayed = dict.fromkeys(aliases, 0)
        self.lag = dict.fromkeys(aliases, 0.0)
        self.down: set[str] = set()
        self.probes: list[str] = []
        self.connects: list[str] = []
        self.now = 1000.0

    def connect(self, alias: str) -> None:
        self.connects.append(alias)
        if alias in self.down:
            raise OperationalError("connection refused")

    def probe(self, alias: str) -> tuple[float, float]:
        self.probes.append(alias)
        if alias in self.down:
            raise OperationalError("connection refused")
        return self.replayed[alias], self.lag[alias]

    def pool(self, **options: float) -> ReplicaPool:
        return ReplicaPool(
            list(self.replayed),
            max_lag=options.get("max_lag", 30),
            retry_after=options.get("retry_after", 10),
            check_every=options.get("check_every", 5),
            connect=self.connect,
            probe=self.probe,
            clock=lambda: self.now,
            choice=lambda aliases: sorted(aliases)[0],
        )

    def known(self, **replayed: int) -> ReplicaPool:
        """A pool that has just checked every replica, at these positions."""
        self.replayed.update(replayed)
        pool = self.pool()
        for alias in self.replayed:
            pool.check(alias)
        self.probes.clear()
        return pool


@pytest.fixture
def one() -> FakeReplicas:
    return FakeReplicas("replica")


def test_a_reader_with_no_recent_write_reads_a_replica_and_pays_no_position_check(one):
    pool = one.pool()
    assert pool.choose(None) == "replica"  # the first use checks it, as every 5 s
    one.probes.clear()

    choices = [pool.choose(None) for _ in range(20)]

    assert choices == ["replica"] * 20
    assert one.probes == []
    assert one.connects == ["replica"] * 20  # Django's own health check of the connection


def test_a_recent_write_the_replica_has_not_replayed_reads_the_primary(one):
    pool = one.pool()
    one.replayed["replica"] = 100

    assert pool.choose(250) == PRIMARY
    assert one.probes == ["replica"]  # one check per request, no more


def test_once_the_replica_has_replayed_the_write_it_is_read_without_a_check(one):
    pool = one.pool()
    one.replayed["replica"] = 100
    assert pool.choose(250) == PRIMARY

    one.replayed["replica"] = 300
    assert pool.choose(250) == "replica"  # checked again, and caught up
    one.probes.clear()

    assert pool.choose(250) == "replica"
    assert pool.choose(120) == "replica"
    assert one.probes == []  # already known to have replayed both


def test_a_replica_that_is_down_is_skipped_then_tried_again_after_the_pause(one):
    pool = one.pool(retry_after=10)
    assert pool.choose(None) == "replica"
    one.down.add("replica")

    assert pool.choose(None) == PRIMARY  # its connection fails: the request reads the primary
    attempts = len(one.connects) + len(one.probes)
    one.now += 9
    assert [pool.choose(None) for _ in range(5)] == [PRIMARY] * 5
    assert len(one.connects) + len(one.probes) == attempts  # not even tried while paused

    one.down.clear()
    one.now += 1
    assert pool.choose(None) == "replica"
    assert one.probes[-1] == "replica"  # checked again before it is used


def test_a_replica_down_at_its_check_is_skipped(one):
    pool = one.pool()
    one.down.add("replica")

    assert pool.choose(None) == PRIMARY
    assert pool.choose(50) == PRIMARY
    assert one.probes == ["replica"]


def test_a_replica_lagging_past_the_bound_is_skipped_for_the_pause(one):
    pool = one.pool(max_lag=30, retry_after=10, check_every=5)
    one.lag["replica"] = 45.0

    assert pool.choose(None) == PRIMARY
    one.lag["replica"] = 0.5
    one.now += 5
    assert pool.choose(None) == PRIMARY  # still paused
    one.now += 5
    assert pool.choose(None) == "replica"


def test_a_replica_is_checked_again_every_interval(one):
    pool = one.pool(check_every=5)
    pool.choose(None)
    one.now += 4
    pool.choose(None)
    one.now += 1
    pool.choose(None)

    assert one.probes == ["replica", "replica"]


def test_several_replicas_share_the_readers():
    replicas = FakeReplicas("replica", "replica_2", "replica_3")
    pool = replicas.pool()
    pool.choice = random.Random(7).choice  # noqa: S311 (spreads reads, keeps no secret)

    chosen = {pool.choose(None) for _ in range(30)}

    assert chosen == {"replica", "replica_2", "replica_3"}


def test_a_recent_writer_reads_one_of_the_replicas_that_caught_up():
    replicas = FakeReplicas("replica", "replica_2", "replica_3")
    pool = replicas.known(replica=100, replica_2=500, replica_3=400)

    assert pool.choose(450) == "replica_2"
    assert pool.choose(300) in {"replica_2", "replica_3"}
    pool.choice = lambda aliases: sorted(aliases)[-1]
    assert pool.choose(300) == "replica_3"
    assert replicas.probes == []


def test_with_no_replica_known_to_have_the_write_only_the_furthest_is_checked():
    replicas = FakeReplicas("replica", "replica_2")
    pool = replicas.known(replica=100, replica_2=200)
    replicas.replayed.update({"replica": 900, "replica_2": 600})

    assert pool.choose(700) == PRIMARY  # replica_2 was asked, and it is still behind
    assert replicas.probes == ["replica_2"]


def test_a_writer_skips_a_replica_that_is_down_for_one_that_caught_up():
    replicas = FakeReplicas("replica", "replica_2")
    pool = replicas.known(replica=500, replica_2=500)
    replicas.down.add("replica")

    assert pool.choose(400) == PRIMARY  # "replica" was chosen and failed: this request
    assert pool.choose(400) == "replica_2"  # the next ones skip it


def test_with_every_replica_down_reads_go_to_the_primary():
    replicas = FakeReplicas("replica", "replica_2")
    pool = replicas.pool()
    replicas.down.update({"replica", "replica_2"})

    assert [pool.choose(None) for _ in range(3)] == [PRIMARY] * 3
    assert [pool.choose(None) for _ in range(3)] == [PRIMARY] * 3
    assert replicas.probes == ["replica", "replica_2"]


def test_write_positions_order_as_postgresql_orders_them():
    assert lsn("0/16B3748") == 0x16B3748
    assert lsn("1/0") > lsn("0/FFFFFFFF")
    assert lsn("16/B374D848") == (0x16 << 32) | 0xB374D848


class _ServerError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        self.sqlstate = sqlstate


def _error(kind: type[Exception], sqlstate: str | None) -> Exception:
    error = kind("failed")
    error.__cause__ = _ServerError(sqlstate)
    return error


@pytest.mark.parametrize(
    ("error", "down"),
    [
        (_error(OperationalError, None), True),  # the connection closed under the query
        (_error(OperationalError, "08006"), True),
        (_error(OperationalError, "57P01"), True),  # the server is shutting down
        (_error(OperationalError, "40001"), False),  # a conflict with recovery
        (_error(OperationalError, "57014"), None),  # the statement timeout: the query's own
        (_error(ProgrammingError, "42P01"), None),
    ],
)
def test_a_replica_failure_is_told_apart_from_the_requests_own(error, down):
    assert replica_failure(error) == down


@pytest.mark.django_db
def test_the_router_reads_a_token_without_the_database(user, django_assert_num_queries):
    token = token_issue(user=user)

    with django_assert_num_queries(0):
        assert header_subject(f"Token {token}") == user.pk
        assert header_subject(f"Bearer {token}") == user.pk
        assert header_subject(f"Token {token[:-2]}xx") is None
        assert header_subject("Basic dXNlcjpwYXNz") is None
        assert header_subject("") is None


# --- With a replica configured (the test database itself) --------------------------------------

with_replica = pytest.mark.skipif(
    "replica" not in django_settings.DATABASES,
    reason="runs where DATABASE_REPLICA_URL is set (a pass of its own in .ci/run)",
)


@pytest.fixture
def fresh_pool() -> Iterator[None]:
    db_routers.replica_pool.cache_clear()
    yield
    db_routers.replica_pool.cache_clear()


def _reads(context: CaptureQueriesContext) -> list[str]:
    """The statements that read the API's tables (not the router's checks of the replica)."""
    return [q["sql"] for q in context.captured_queries if "resources_" in q["sql"]]


@with_replica
@pytest.mark.usefixtures("fresh_pool")
@pytest.mark.django_db(databases=["default", "replica"], transaction=True)
def test_a_write_keeps_its_position_and_the_writers_next_reads_wait_for_the_replica(user, user_api):
    created = user_api.post(
        "/api/articles",
        {"article": {"title": "Mine", "description": "d", "body": "b"}},
        format="json",
    )

    assert created.status_code == 201
    position = cache.get(f"read-your-writes:{user.pk}")
    assert position > 0
    # The test database is not a standby: it counts as having replayed everything. The token is
    # verified afresh, so that the reader's row is read too.
    forget_verified_tokens()
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        assert user_api.get("/api/articles/mine").status_code == 200
    assert len(_reads(replica)) == 2
    assert primary.captured_queries == []


@with_replica
@pytest.mark.usefixtures("fresh_pool")
@pytest.mark.django_db(databases=["default", "replica"], transaction=True)
def test_registering_keeps_the_new_users_position_for_their_first_reads_replica(api):
    registered = api.post(
        "/api/users",
        {"user": {"username": "fresh", "email": "fresh@example.com", "password": "password1"}},
        format="json",
    )

    assert registered.status_code == 201
    new_user = User.objects.get(username="fresh")
    assert cache.get(f"read-your-writes:{new_user.pk}") > 0


@with_replica
@pytest.mark.usefixtures("fresh_pool")
@pytest.mark.django_db(databases=["default", "replica"], transaction=True)
def test_a_read_whose_replica_fails_under_it_is_answered_from_the_primary_replica(user, user_api):
    recipes.article.make(author=user, slug="kept")
    assert user_api.get("/api/articles").status_code == 200  # the replica is checked and in use
    replica = connections["replica"]
    backend = replica.connection.info.backend_pid
    cut: list[int] = []

    def cut_the_replica_off(execute, sql, params, many, context):
        if not cut:
            cut.append(backend)
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
                for _ in range(100):
                    cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend])
                    if cursor.fetchone() is None:
                        break
        return execute(sql, params, many, context)

    # Tokens verified afresh, so that the reader's row is read in each request below too.
    forget_verified_tokens()
    with (
        replica.execute_wrapper(cut_the_replica_off),
        CaptureQueriesContext(connections["default"]) as primary,
    ):
        response = user_api.get("/api/articles")

    assert response.status_code == 200
    assert [a["slug"] for a in response.json()["articles"]] == ["kept"]
    assert len(_reads(primary)) == 2  # the reader's row and the page, again
    assert db_routers.replica_pool().paused("replica")
    # While it is skipped, reads go to the primary without trying it.
    forget_verified_tokens()
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as skipped,
    ):
        assert user_api.get("/api/articles").status_code == 200
    assert (len(_reads(primary)), skipped.captured_queries) == (2, [])


@with_replica
@pytest.mark.usefixtures("fresh_pool")
@pytest.mark.django_db(databases=["default", "replica"], transaction=True)
def test_an_anonymous_reader_reads_the_replica_and_no_write_position_replica(user, api):
    recipes.article.make(author=user, slug="s")
    api.get("/api/tags")  # the first use checks the replica

    with CaptureQueriesContext(connections["replica"]) as replica:
        assert api.get("/api/articles").status_code == 200
    assert len(replica.captured_queries) == 1
    assert math.isinf(db_routers.replica_pool().status["replica"].replayed)


@with_replica
@pytest.mark.usefixtures("fresh_pool")
@pytest.mark.django_db(databases=["default", "replica"], transaction=True)
def test_the_admin_reads_the_primary_where_its_session_was_written_replica(client, make_user):
    staff = make_user(username="mod", email="mod@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)

    with CaptureQueriesContext(connections["replica"]) as replica:
        assert client.get("/admin/resources/article/").status_code == 200
    assert replica.captured_queries == []
