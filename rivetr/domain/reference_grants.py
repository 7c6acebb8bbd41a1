"""Whether an actor may make a value reference shared variables: only those it may read. A
reference puts the variable's value where the value goes (an app's container, its build), so
a member kept to one project who could write `${{team.KEY}}` would read the team's secret
through their own app."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rivetr.domain.access import Actor, Permission
from rivetr.domain.errors import Forbidden
from rivetr.domain.references import references

# the one scope beyond where the value is set: a project's and an environment's variables are
# the value's own project's, which setting the value already needs a role in
_TEAM = "team"


def check_references(
    actor: Actor, team: str | None, values: Mapping[str, str | None], where: str = "variable"
) -> None:
    """Raise Forbidden, naming the chain's first link, for a value that references a team
    variable when the actor may not read the team as a whole."""
    if team is None or actor.can(Permission.READ, team):
        return
    for name, value in sorted(values.items()):
        for reference in references(value or ""):
            if reference.scope == _TEAM:
                raise Forbidden(
                    f"{where} {name} -> {reference}: {actor.label} may not read the variables"
                    f" of team {team!r}, only of the projects it is given"
                )


def values_of(commands: Iterable[object]) -> dict[str, str | None]:
    """Every value the commands set (env values, shared values, preview values), by name."""
    found: dict[str, str | None] = {}
    for command in commands:
        for field in ("env", "variables", "preview", "env_preview"):
            given = getattr(command, field, None)
            if isinstance(given, dict):
                found.update(given)
    return found
