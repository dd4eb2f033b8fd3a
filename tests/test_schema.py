"""openapi.yaml is a tested artefact: generated from the code by one command, never stale."""

from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "python3 dev.py schema"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> str:
    target = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    # --fail-on-warn: a view the generator cannot describe fails the suite.
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    return target.read_text()


def test_committed_schema_is_up_to_date(generated):
    committed = (ROOT / "openapi.yaml").read_text()

    assert committed == generated, f"openapi.yaml is stale: run `{REGENERATE}` and commit it."
