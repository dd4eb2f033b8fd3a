"""The repository itself: one version number, links that stay inside it, no machine paths, and a
task runner that says how to use it."""

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from django.conf import settings

import api_project
from tests.tools import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A Markdown link's target: [text](target), without a title.
LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_files() -> list[Path]:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    listed = subprocess.run(
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False, text=True
    )
    if listed.returncode:
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.stdout.split("\0") if name]


def test_the_package_and_the_api_have_one_version():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    schema = yaml.safe_load((ROOT / "openapi.yaml").read_text())

    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "api_project.__version__"
    }
    assert settings.SPECTACULAR_SETTINGS["VERSION"] == api_project.__version__
    assert schema["info"]["version"] == api_project.__version__


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_documentation_links_resolve_inside_the_repository(document):
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (document.parent / target.partition("#")[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)

    assert broken == []


def test_no_tracked_file_names_a_path_outside_the_repository():
    outside = re.compile(r"\.\./shared\b|(?<![\w.])/work/")
    this_file = Path(__file__).resolve()
    found = [
        str(path.relative_to(ROOT))
        for path in tracked_files()
        if path != this_file and path.is_file() and outside.search(path.read_text(errors="replace"))
    ]

    assert found == []


def dev(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("flag", ["help", "-h", "--help"])
def test_dev_py_help_documents_every_task_and_its_arguments(flag):
    result = dev(flag)

    assert (result.returncode, result.stderr) == (0, "")
    tasks = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    for task, arguments in [
        ("serve", "[ADDRESS]"),
        ("prod", "[ADDRESS]"),
        ("test", "[PYTEST ARGS]"),
        ("lint", ""),
        ("schema", "[SPECTACULAR ARGS]"),
        ("fuzz", "[PYTEST ARGS]"),
        ("forward", "[PYTEST ARGS]"),
        ("audit", "[PIP-AUDIT ARGS]"),
        ("help", ""),
    ]:
        assert tasks[task].startswith(f"  {task} {arguments}".rstrip()), tasks


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ((), "dev.py: no task given"),
        (("deploy",), "dev.py: unknown task: deploy"),
        (("lint", "--fix"), "dev.py: lint: too many arguments: --fix"),
        (
            ("prod", "127.0.0.1:8080", "extra"),
            "dev.py: prod: too many arguments: 127.0.0.1:8080 extra",
        ),
    ],
)
def test_dev_py_without_a_known_task_prints_usage_on_stderr_and_exits_2(args, problem):
    result = dev(*args)

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("usage: python3 dev.py")
    assert result.stderr.rstrip().endswith(problem)
