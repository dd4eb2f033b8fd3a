"""RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-09) on every answer to a
rate-limited request, Retry-After besides on a 429; reads that are not counted carry neither; a
browser on another origin may read them (and send an Idempotency-Key)."""

import pytest

from tests import recipes

pytestmark = pytest.mark.django_db

# 30 seconds into a minute and into an hour.
NOW = 1_800_000_030.0


@pytest.fixture(autouse=True)
def steady_clock(monkeypatch):
    monkeypatch.setattr("resources.throttling.time.time", lambda: NOW)


def login(client, email="a@example.com"):
    return client.post(
        "/api/users/login", {"user": {"email": email, "password": "x"}}, format="json"
    )


def test_each_counted_answer_says_what_remains_of_each_limit(api, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": "3/min", "login_account": "2/min"}

    answers = [login(api) for _ in range(3)]

    assert [a.status_code for a in answers] == [401, 401, 429]
    policy = '"login_ip";q=3;w=60, "login_account";q=2;w=60'
    assert [a["RateLimit-Policy"] for a in answers] == [policy] * 3
    assert [a["RateLimit"] for a in answers] == [
        '"login_ip";r=2;t=30, "login_account";r=1;t=30',
        '"login_ip";r=1;t=30, "login_account";r=0;t=30',
        '"login_ip";r=0;t=30, "login_account";r=0;t=30',
    ]
    assert answers[2]["Retry-After"] == "30"
    assert "Retry-After" not in answers[0]


def test_a_write_names_its_scope_and_hourly_window(user_api, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "write": "5/hour"}

    response = user_api.put("/api/user", {"user": {"bio": "x"}}, format="json")

    assert response.status_code == 200
    assert response["RateLimit-Policy"] == '"write";q=5;w=3600'
    assert response["RateLimit"] == '"write";r=4;t=3570'


def test_an_answer_that_is_not_counted_has_no_rate_limit_fields(api, user_api, settings):
    recipes.article.make(slug="one")
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": None, "login_account": None}

    for response in (api.get("/api/articles"), user_api.get("/api/articles/one"), login(api)):
        assert "RateLimit" not in response
        assert "RateLimit-Policy" not in response


def test_a_client_over_the_limit_reads_zero_remaining_and_when_it_resets(user_api, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "article_write": "1/min"}
    body = {"article": {"title": "T", "description": "D", "body": "B"}}

    first = user_api.post("/api/articles", body, format="json")
    second = user_api.post("/api/articles", {**body, "article": {**body["article"], "title": "U"}})

    assert first.status_code == 201
    assert first["RateLimit"] == '"article_write";r=0;t=30'
    assert second.status_code == 429
    assert second["RateLimit"] == '"article_write";r=0;t=30'
    assert second["Retry-After"] == "30"


def test_a_browser_on_another_origin_may_send_a_key_and_read_these_headers(api):
    response = api.get("/api/tags", HTTP_ORIGIN="https://frontend.example")
    preflight = api.options(
        "/api/articles",
        HTTP_ORIGIN="https://frontend.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="idempotency-key",
    )

    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {
        "ratelimit",
        "ratelimit-policy",
        "retry-after",
        "idempotent-replayed",
        "link",
    } <= exposed
    assert "idempotency-key" in preflight["Access-Control-Allow-Headers"]
