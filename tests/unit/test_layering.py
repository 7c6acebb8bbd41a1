"""The layering DESIGN.md asks for, checked on the imports themselves: the domain is pure and
knows nothing of storage, engines or HTTP; projections know nothing of the web; adapters know
no service, projection or page; services know nothing of HTTP; the web reaches the event store
only through services."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rivetr"

FORBIDDEN = {
    "domain": {
        "rivetr.adapters",
        "rivetr.projections",
        "rivetr.web",
        "rivetr.service",
        "rivetr.bootstrap",
        "rivetr.cli",
        "sqlite3",
        "aiosqlite",
        "docker",
        "litestar",
        "asyncio",
        "anyio",
        "socket",
        "random",
        "os",
        "subprocess",
    },
    "projections": {"rivetr.web", "rivetr.service", "rivetr.bootstrap", "rivetr.cli", "litestar"},
    # Ports to the world: they append events and answer calls, they never decide or read views.
    "adapters": {
        "rivetr.service",
        "rivetr.projections",
        "rivetr.web",
        "rivetr.bootstrap",
        "rivetr.cli",
    },
    "service": {"rivetr.web", "rivetr.cli", "litestar"},
    # Controllers and pages call services: the event store (and the read model's tables) only
    # through them. The runtime's types, the certificate store's answer and the webhook
    # providers' names are still imported from adapters.
    "web": {"rivetr.adapters.eventstore", "rivetr.projections.registry", "sqlite3", "aiosqlite"},
    # The installer sets up a machine; it reads the service's answers, never its insides.
    "install": {
        "rivetr.adapters",
        "rivetr.projections",
        "rivetr.service",
        "rivetr.web",
        "rivetr.bootstrap",
        "rivetr.cli",
        "litestar",
    },
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_it_must_not_know(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, f"no modules found in rivetr/{layer}"
    offences = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in files
        for name in sorted(imported_modules(path))
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer])
    ]
    assert not offences, "\n".join(offences)


def test_no_module_imports_one_that_imports_it() -> None:
    """Import circles (the proxy's client and server once were one) make a part impossible to
    read, test or replace alone; a Protocol in the importing module breaks them."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        graph[module] = {name for name in imported_modules(path) if name.startswith("rivetr.")}
    circles = sorted(
        f"{a} <-> {b}"
        for a, names in graph.items()
        for b in names
        if a < b and a in graph.get(b, ())
    )
    assert not circles, "\n".join(circles)


def test_controllers_and_pages_name_the_services_they_need_not_the_composition_root() -> None:
    """Only `create_app` opens the services; a controller or page depends on the one it needs
    (web/providers.py), never on the whole of `bootstrap.Services`."""
    offences = [
        str(path.relative_to(PACKAGE.parent))
        for path in sorted((PACKAGE / "web").rglob("*.py"))
        if path.name != "app.py" and "rivetr.bootstrap" in imported_modules(path)
    ]
    assert not offences, "\n".join(offences)
