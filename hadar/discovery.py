"""Feature modules register by existing: the route table, the GraphQL schema and the model
list read every module of their package that declares what they look for, so adding a
resource never means editing a shared list (and parallel work never collides in one)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def modules(package: str, *, skip: frozenset[str] = frozenset()) -> list[ModuleType]:
    """Every direct submodule of `package` but those named in `skip` (the readers of the
    registry, which import it back), imported, in name order (a stable order keeps the route
    table, the schema and the generated documents the same from run to run)."""
    parent = importlib.import_module(package)
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(parent.__path__)
        if not info.ispkg and info.name not in skip
    )
    return [importlib.import_module(f"{package}.{name}") for name in names]


def declaring(
    package: str, attribute: str, *, skip: frozenset[str] = frozenset()
) -> list[ModuleType]:
    """The submodules of `package` that define `attribute` themselves."""
    return [m for m in modules(package, skip=skip) if attribute in vars(m)]
