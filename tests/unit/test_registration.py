"""A resource registers by existing: the readers of the registries (route table, schema, node
kinds, loaders, model list, role rules, id prefixes, parity test) name no feature, so adding
one never edits them (and parallel work never collides in them)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from tortoise.models import Model

from hadar import ids
from hadar.discovery import modules
from hadar.domain.scope import Resource
from hadar.graphql.nodes import kinds
from hadar.graphql.schema import root_operations
from hadar.rest.routes import ROUTES

ROOT = Path(__file__).resolve().parents[2]
READERS = [
    "hadar/rest/routes.py",
    "hadar/graphql/schema.py",
    "hadar/graphql/nodes.py",
    "hadar/graphql/loaders.py",
    "hadar/services/lookups.py",
    "hadar/domain/__init__.py",
    "hadar/domain/scope.py",
    "hadar/ids.py",
    "hadar/openapi/operations.py",
    "tests/api/test_operation_parity.py",
]


def _features() -> set[str]:
    """Every module that declares something a registry reads."""
    found = {m.__name__ for m in modules("hadar.rest") if {"ROUTES", "INBOUND"} & set(vars(m))}
    graphql = modules("hadar.graphql", skip=frozenset({"schema", "view"}))
    found |= {m.__name__ for m in graphql if {"Query", "Mutation", "NODES", "TYPES"} & set(vars(m))}
    for module in modules("hadar.domain"):
        if any(isinstance(v, type) and issubclass(v, Model) for v in vars(module).values()):
            found.add(module.__name__)
    found |= {m.__name__ for m in modules("hadar.services") if "Operation" in vars(m)}
    # node(id:) is a feature that reads the kinds; the route table holds every ROUTES.
    return found - {"hadar.graphql.nodes", "hadar.rest.routes"}


def _imports(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            named.add(node.module)
            named |= {f"{node.module}.{alias.name}" for alias in node.names}
    return named


# The idempotency records every mutation writes: the pipeline's, not a resource's.
PLATFORM = {"hadar.domain.records"}


@pytest.mark.parametrize("path", READERS)
def test_a_registry_reader_names_no_feature(path: str) -> None:
    assert not _imports(path) & (_features() - PLATFORM), path


def test_every_operation_acts_on_a_resource_declared_beside_its_model() -> None:
    declared = {
        id(value)
        for module in modules("hadar.domain")
        for value in vars(module).values()
        if isinstance(value, Resource)
    }
    operations = [spec.op for spec in ROUTES] + list(root_operations().values())
    assert operations
    for op in operations:
        assert id(op.resource) in declared, (op.name, op.resource)


def test_every_node_kind_has_a_declared_prefix_and_a_graphql_node_type() -> None:
    assert kinds(), "no node kinds found"
    for prefix, kind in kinds().items():
        assert prefix in ids.PREFIXES
        assert "Node" in {i.name for i in kind.type.__strawberry_definition__.interfaces}


def test_every_model_module_is_registered_with_the_orm() -> None:
    from hadar.db import tortoise_config

    registered = set(tortoise_config("sqlite://:memory:")["apps"]["hadar"]["models"])
    for name in registered:
        importlib.import_module(name)
    owners = {
        v.__module__
        for m in modules("hadar.domain")
        for v in vars(m).values()
        if isinstance(v, type) and issubclass(v, Model) and v is not Model
    }
    assert owners == registered
