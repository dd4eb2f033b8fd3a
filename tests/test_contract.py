"""The schema tells the truth: it names exactly the routes the server answers, it is valid
OpenAPI, it lints clean, and it agrees with the public RealWorld spec, so a client generated from
either schema works against this server."""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

from tests.tools import ROOT, node_tool

OURS = yaml.safe_load((ROOT / "openapi.yaml").read_text())
REALWORLD = yaml.safe_load((Path(__file__).parent / "realworld" / "openapi.yml").read_text())
METHODS = ["get", "put", "post", "delete", "patch"]


# --- Routes and schema paths ------------------------------------------------------------------


def _template(pattern) -> str:
    route = getattr(pattern, "_route", None)
    if route is not None:
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    regex = pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", regex)


def _api_routes(resolver: URLResolver, prefix: str = "") -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for pattern in resolver.url_patterns:
        path = prefix + _template(pattern.pattern)
        if isinstance(pattern, URLResolver):
            for sub, methods in _api_routes(pattern, path).items():
                routes.setdefault(sub, set()).update(methods)
            continue
        assert isinstance(pattern, URLPattern)
        view: Any = pattern.callback
        if getattr(view, "actions", None):
            # DRF adds "head" to a viewset's actions once it has served a GET.
            methods = set(view.actions) & set(METHODS)
        else:
            methods = {m for m in METHODS if hasattr(getattr(view, "cls", None), m)}
        routes.setdefault(path, set()).update(methods)
    return routes


def test_the_schema_names_every_api_route_and_method_and_nothing_else():
    api = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and str(p.pattern) == "api/"
    )
    routes = {"/" + path: methods for path, methods in _api_routes(api).items()}
    documented = {path: {m for m in ops if m in METHODS} for path, ops in OURS["paths"].items()}

    assert routes == documented


def test_the_schema_is_valid_openapi():
    validate(OURS)


def test_the_schema_lints_clean():
    redocly = node_tool("redocly")

    result = subprocess.run(
        [str(redocly), "lint", "openapi.yaml", "--format=json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    report = json.loads(result.stdout)
    problems = [(p["ruleId"], p["severity"], p["message"]) for p in report["problems"]]
    assert problems == []
    assert result.returncode == 0


# --- Agreement with the RealWorld spec --------------------------------------------------------


def _resolve(document: dict, node: dict) -> dict:
    while True:
        if "$ref" in node:
            target = document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = {**{k: v for k, v in node.items() if k != "allOf"}, **node["allOf"][0]}
        else:
            return node


def _body_schema(document: dict, container: dict) -> dict:
    container = _resolve(document, container)
    return _resolve(document, container["content"]["application/json"]["schema"])


def _assert_compatible(spec: dict, ours: dict, where: str, *, response: bool) -> None:
    """`ours` accepts what the spec's clients send (requests) and gives what they expect
    (responses): the same properties with the same types."""
    spec, ours = _resolve(REALWORLD, spec), _resolve(OURS, ours)
    assert ours.get("type", "object") == spec.get("type", "object"), where
    if spec.get("type") == "array":
        _assert_compatible(spec["items"], ours["items"], f"{where}[]", response=response)
    for name, prop in spec.get("properties", {}).items():
        assert name in ours.get("properties", {}), f"{where}.{name} is missing"
        _assert_compatible(prop, ours["properties"][name], f"{where}.{name}", response=response)
    spec_required, our_required = set(spec.get("required", [])), set(ours.get("required", []))
    if response:
        assert spec_required <= our_required, where
    else:
        assert our_required <= spec_required, where


REALWORLD_OPERATIONS = [
    (path, method, operation)
    for path, operations in REALWORLD["paths"].items()
    for method, operation in operations.items()
]


@pytest.mark.parametrize(
    ("path", "method", "spec"),
    REALWORLD_OPERATIONS,
    ids=[operation["operationId"] for _, _, operation in REALWORLD_OPERATIONS],
)
def test_every_realworld_operation_is_here_and_compatible(path, method, spec):
    ours = OURS["paths"][path][method]

    assert ours["operationId"] == spec["operationId"]
    assert ours["tags"] == spec["tags"]
    assert [p["name"] for p in ours.get("parameters", []) if p["in"] == "path"] == sorted(
        p["name"] for p in spec.get("parameters", []) if p.get("in") == "path"
    )
    assert {p.get("name") for p in spec.get("parameters", []) if "$ref" not in p} <= {
        p["name"] for p in ours.get("parameters", [])
    }
    success = next(code for code in spec["responses"] if code.startswith("2"))
    assert success in ours["responses"]
    # No `security` and `security: []` both mean no token; `{}` among the choices, an optional one.
    assert bool(ours.get("security")) == bool(spec.get("security")) or {} in ours["security"]
    if "requestBody" in spec:
        _assert_compatible(
            _body_schema(REALWORLD, spec["requestBody"]),
            _body_schema(OURS, ours["requestBody"]),
            f"{spec['operationId']} request",
            response=False,
        )
    if success != "204":
        _assert_compatible(
            _body_schema(REALWORLD, spec["responses"][success]),
            _body_schema(OURS, ours["responses"][success]),
            f"{spec['operationId']} response",
            response=True,
        )


# What Conduit adds to the RealWorld API, on purpose; a RealWorld client never needs it.
EXTENSIONS = {
    ("/user/articles", "get"),  # the reader's own articles, drafts included
}


def test_there_are_no_operations_beyond_the_realworld_ones_and_our_extensions():
    ours = {(p, m) for p, ops in OURS["paths"].items() for m in ops if m in METHODS}

    assert ours == {(p, m) for p, m, _ in REALWORLD_OPERATIONS} | EXTENSIONS


def test_the_token_scheme_is_the_realworld_one():
    ours = OURS["components"]["securitySchemes"]["Token"]
    spec = REALWORLD["components"]["securitySchemes"]["Token"]

    assert {k: ours[k] for k in ("type", "in", "name")} == {
        k: spec[k] for k in ("type", "in", "name")
    }


def test_response_objects_are_closed():
    schemas = OURS["components"]["schemas"]
    responses = [
        name
        for name in schemas
        if schemas[name].get("type") == "object"
        and "Request" not in name
        and name
        not in {"NewUser", "LoginUser", "UpdateUser", "NewArticle", "UpdateArticle", "NewComment"}
    ]

    assert responses
    for name in responses:
        assert schemas[name].get("additionalProperties") is False, name


def test_every_error_answer_has_the_errors_body():
    for path, operations in OURS["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/GenericErrorModel"}, (
                        path,
                        method,
                        code,
                    )


# --- Served -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_is_served_as_yaml_and_as_json(api):
    as_yaml = api.get("/api/schema")
    as_json = api.get("/api/schema?format=json")

    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert yaml.safe_load(as_yaml.content) == json.loads(as_json.content) == OURS


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
def test_the_docs_pages_load_their_assets_from_this_server(api, path):
    page = api.get(path).content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets
    for asset in assets:
        assert asset.startswith("/"), asset
        assert api.get(asset).status_code == 200, asset
