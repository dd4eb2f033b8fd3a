"""The server obeys its schema: schemathesis against the live server, signed in as a seeded user,
every operation, phases examples + coverage + fuzzing, a fixed seed.

`python3 dev.py fuzz` runs the same with 1,000 examples per operation and a random seed
(SCHEMATHESIS_EXAMPLES and SCHEMATHESIS_SEED set it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from resources import services
from resources.authentication import token_issue
from tests.tools import wait_for_live_server_requests

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "100")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261125")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "ignored_auth",
        "unsupported_method",
    ]
)
# Operations that would spoil the seeded data for the others run after them, one group at a
# time: deleting the example article, and changing the signed-in user's password (which retires
# the token every other request carries).
GROUPS = {
    "everything else": [
        "--exclude-operation-id=DeleteArticle",
        "--exclude-operation-id=UpdateCurrentUser",
    ],
    "DeleteArticle": ["--include-operation-id=DeleteArticle"],
    "UpdateCurrentUser": ["--include-operation-id=UpdateCurrentUser"],
}


@pytest.fixture
def token(settings):
    """The user and article the schema's examples name (`jake`, `how-to-train-your-dragon`),
    among demo content. Rate limits are off: thousands of requests come from one user."""
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS)
    call_command("seed_demo")
    jake = services.user_create(username="jake", email="jake@jake.jake", password="jakejake")
    services.article_create(
        author=jake,
        title="How to train your dragon",
        description="Ever wonder how?",
        body="You have to believe",
        tag_names=["dragons", "training"],
    )
    return token_issue(user=jake)


@pytest.mark.parametrize("group", list(GROUPS))
def test_the_server_obeys_its_schema(live_server, token, tmp_path, group):
    command = [
        str(Path(sys.executable).parent / "st"),
        f"--config-file={Path(__file__).with_name('schemathesis.toml')}",
        "run",
        f"{live_server.url}/api/schema",
        f"--url={live_server.url}/api",
        f"--header=Authorization: Token {token}",
        "--phases=examples,coverage,fuzzing",
        f"--max-examples={EXAMPLES}",
        f"--seed={SEED}",
        f"--checks={CHECKS}",
        "--workers=1",
        "--no-color",
        *GROUPS[group],
    ]

    # st keeps its cache in .schemathesis/ under its working directory: a temporary one, so a
    # run leaves nothing in the checkout.
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=3600
    )

    wait_for_live_server_requests()
    summary = result.stdout[result.stdout.rfind("SUMMARY") :]
    print(summary)
    # Failures come first, each with a curl line to reproduce it; long bodies are cut short.
    failures = result.stdout[result.stdout.find("FAILURES") : result.stdout.rfind("WARNINGS")]
    shown = "\n".join(line[:300] for line in failures.splitlines())
    assert result.returncode == 0, shown[:20_000] + "\n" + summary
    # Warnings may remain (random credentials and slugs are mostly refused, as they should
    # be); failures may not.
    assert "Failures:" not in summary, summary
    assert "passed" in summary, summary
