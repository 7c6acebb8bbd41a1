"""Scopes of an app's variables: which go to the build (as build arguments), which to the running
container, which to the app's pull-request previews, and a value previews take instead.

A variable with no recorded scope is runtime and preview, as every value was before scopes:
older logs keep meaning what they meant. Build arguments set in `build.build_args` stay as
they are; a build-scoped variable joins them (an explicit build argument wins)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from rivetr.domain.commands import VariableScopeInput
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.events import (
    AppVariableScopesChanged,
    Event,
    ProjectVariablesChanged,
    TeamVariablesChanged,
    VariableScope,
)

DEFAULT = VariableScope()
PREVIEW_ONLY = VariableScope(build=False, runtime=False, preview=True)  # none of the app's own


def scope_of(scopes: Mapping[str, VariableScope], name: str) -> VariableScope:
    return scopes.get(name, DEFAULT)


def named(scope: VariableScope) -> list[str]:
    """The scope in words, as the deploy log lists it."""
    return [kind for kind in ("build", "runtime", "preview") if getattr(scope, kind)]


def decide_scopes(
    app: str,
    names: set[str],
    scopes: Mapping[str, VariableScope],
    previews: Mapping[str, str],
    wanted: Mapping[str, VariableScopeInput] | msgspec.UnsetType,
    preview_values: Mapping[str, str | None] | msgspec.UnsetType,
) -> list[Event]:
    """The change to the scopes and preview values of the app's variables (`names`: those it
    has after this change), or nothing when they are as wanted.

    Raises:
        InvalidCommand: naming a variable the app does not have, or one given no scope.
    """
    fields = ("env_scopes", "env_preview")
    changed, set_, unset = scope_changes(
        names, scopes, previews, wanted or {}, preview_values or {}, fields
    )
    if not changed and not set_ and not unset:
        return []
    return [
        AppVariableScopesChanged(name=app, scopes=changed, preview_values=set_, preview_unset=unset)
    ]


def scope_changes(
    names: set[str],
    scopes: Mapping[str, VariableScope],
    previews: Mapping[str, str],
    wanted: Mapping[str, VariableScopeInput],
    preview_values: Mapping[str, str | None],
    fields: tuple[str, str],
) -> tuple[dict[str, VariableScope], dict[str, str], list[str]]:
    """What changes in the scopes and preview values of variables (`names`: those there are
    after this change): (scopes changed, preview values set, preview values removed).

    Raises:
        InvalidCommand: naming (in `fields`) a variable there is not, or one given no scope.
    """
    changed: dict[str, VariableScope] = {}
    for name, given in wanted.items():
        if name not in names:
            raise InvalidCommand(
                f"{fields[0]}.{name}: there is no variable {name}", field=fields[0]
            )
        scope = VariableScope(build=given.build, runtime=given.runtime, preview=given.preview)
        if not named(scope):
            raise InvalidCommand(
                f"{fields[0]}.{name}: give it at least one of build, runtime or preview",
                field=fields[0],
            )
        if scope != scope_of(scopes, name):
            changed[name] = scope
    set_: dict[str, str] = {}
    unset: list[str] = []
    for name, value in preview_values.items():
        if value is None:
            if name in previews:
                unset.append(name)
        elif name not in names:
            raise InvalidCommand(
                f"{fields[1]}.{name}: there is no variable {name}", field=fields[1]
            )
        elif previews.get(name) != value:
            set_[name] = value
    return changed, set_, sorted(unset)


def evolve_scopes(
    scopes: Mapping[str, VariableScope],
    previews: Mapping[str, str],
    event: AppVariableScopesChanged | TeamVariablesChanged | ProjectVariablesChanged,
) -> tuple[dict[str, VariableScope], dict[str, str]]:
    """Scopes and preview values after `event` (an app's, or shared variables')."""
    kept = {k: v for k, v in previews.items() if k not in event.preview_unset}
    return {**scopes, **event.scopes}, {**kept, **event.preview_values}


def for_preview(
    env: Mapping[str, str], scopes: Mapping[str, VariableScope], previews: Mapping[str, str]
) -> dict[str, str]:
    """The values a pull-request preview of the app takes: its preview-scoped variables, each
    with its preview value where it has one."""
    return {
        name: previews.get(name, value)
        for name, value in env.items()
        if scope_of(scopes, name).preview
    }


def split(
    values: Mapping[str, str], scopes: Mapping[str, VariableScope]
) -> tuple[dict[str, str], dict[str, str]]:
    """(build-time, runtime) values: what the build takes as build arguments, and what the
    container is started with."""
    build = {k: v for k, v in values.items() if scope_of(scopes, k).build}
    runtime = {k: v for k, v in values.items() if scope_of(scopes, k).runtime}
    return build, runtime


def carried(preview: str, names: set[str], scopes: Mapping[str, VariableScope]) -> list[Event]:
    """The parent's scopes of the variables a preview (named `preview`) takes, so that a
    build-time variable is one in the preview too."""
    kept = {name: scope for name, scope in scopes.items() if name in names and scope != DEFAULT}
    return [AppVariableScopesChanged(name=preview, scopes=kept)] if kept else []
