"""A deployment's variables, made ready before anything is fetched or built: references to
shared variables resolved, build-time values handed to the build as build arguments and
runtime ones to the container, and what to tell (names, scopes, sources: never a value)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from rivetr.domain.application import AppState
from rivetr.domain.events import VariableUse
from rivetr.domain.references import APP, Resolution, resolve, uses
from rivetr.domain.scopes import named, scope_of
from rivetr.domain.variables import visible
from rivetr.service.commands.variables import SharedScopes
from rivetr.service.reactors.database_containers import network_name


@dataclass(frozen=True)
class Prepared:
    app: AppState  # env: the runtime values; build.build_args: with the build-time ones
    used: list[VariableUse]  # where each value came from
    lines: list[str]  # for the deploy log
    # the environment's network, when it holds databases: the release joins it to reach them
    network: str | None = None

    @property
    def referenced(self) -> bool:
        """Whether any value took a shared variable."""
        return any(use.source != APP for use in self.used)


async def prepare(shared: SharedScopes, app: AppState) -> Prepared:
    """The app (opened) with its variables ready for this deployment: its build-time values
    resolved against the shared variables given to builds, its runtime ones against those
    given to running containers (for a pull-request preview, only those given to previews,
    with their preview values).

    Raises:
        UnresolvedReference: naming the chain. SecretError: a shared value does not open.
    """
    scopes = app.env_scopes
    levels = await shared.opened(app.team, app.project, app.environment)
    preview = app.preview_of is not None
    held = await shared.databases(app.team, app.project, app.environment)
    resolved: dict[str, dict[str, str]] = {}
    used: dict[str, set[tuple[str, str]]] = {}
    for phase in ("build", "runtime"):
        values = {k: v for k, v in app.env.items() if getattr(scope_of(scopes, k), phase)}
        given, withheld = visible(levels, phase, preview)
        for name, parts in held.items():
            if phase == "runtime" and not preview:
                given[name] = parts
            else:  # a build does not reach the network; a preview must not write its data
                why = "given to running containers only" if not preview else "not given to previews"
                withheld[name] = dict.fromkeys(parts, why)
        resolution = resolve(values, given, withheld)
        resolved[phase] = resolution.values
        for name, nodes in resolution.used.items():
            used.setdefault(name, set()).update(nodes)
    build = msgspec.structs.replace(
        app.build, build_args={**resolved["build"], **app.build.build_args}
    )
    took = {name: sorted(used[name]) for name in app.env if name in used}
    uses_ = uses(Resolution(values={}, used=took))
    lines = [f"variable {k}: {', '.join(named(scope_of(scopes, k)))}" for k in app.env]
    lines += [f"variable {u.name} uses {u.source}.{u.key}" for u in uses_ if u.source != APP]
    ready = msgspec.structs.replace(app, env=resolved["runtime"], build=build)
    network = network_name(app.team, app.project, app.environment) if held else None
    return Prepared(ready, uses_, lines, network)
