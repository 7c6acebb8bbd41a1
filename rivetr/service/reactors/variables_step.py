"""A deployment's variables, made ready before anything is fetched or built: references to
shared variables resolved, build-time values handed to the build as build arguments and
runtime ones to the container, and what to tell (names, scopes, sources: never a value)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from rivetr.domain.application import AppState
from rivetr.domain.events import VariableUse
from rivetr.domain.references import APP, uses
from rivetr.domain.scopes import PREVIEW_ONLY, named, scope_of, split
from rivetr.service.commands.variables import SharedScopes


@dataclass(frozen=True)
class Prepared:
    app: AppState  # env: the runtime values; build.build_args: with the build-time ones
    used: list[VariableUse]  # where each value came from
    lines: list[str]  # for the deploy log

    @property
    def referenced(self) -> bool:
        """Whether any value took a shared variable."""
        return any(use.source != APP for use in self.used)


async def prepare(shared: SharedScopes, app: AppState) -> Prepared:
    """The app (opened) with its variables ready for this deployment.

    Raises:
        UnresolvedReference: naming the chain. SecretError: a shared value does not open.
    """
    scopes = app.env_scopes
    # a preview-only variable is none of the app's own deployment's business
    active = {k: v for k, v in app.env.items() if scope_of(scopes, k) != PREVIEW_ONLY}
    resolution = await shared.resolve(msgspec.structs.replace(app, env=active))
    build_time, runtime = split(resolution.values, scopes)
    build = msgspec.structs.replace(app.build, build_args={**build_time, **app.build.build_args})
    used = uses(resolution)
    lines = [f"variable {k}: {', '.join(named(scope_of(scopes, k)))}" for k in resolution.values]
    lines += [f"variable {u.name} uses {u.source}.{u.key}" for u in used if u.source != APP]
    return Prepared(msgspec.structs.replace(app, env=runtime, build=build), used, lines)
