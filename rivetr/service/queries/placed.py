"""Resources listed as an actor may read them: only the teams it reads are asked for, and of
those only the projects it reads, narrowed to a place when one is named."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from rivetr.domain.access import Actor


class Placed(Protocol):
    @property
    def team(self) -> str: ...

    @property
    def project(self) -> str: ...

    @property
    def environment(self) -> str: ...


View = TypeVar("View", bound=Placed)


async def readable(
    actor: Actor,
    every: Callable[[Iterable[str] | None], Awaitable[list[View]]],
    team: str | None = None,
    project: str | None = None,
    environment: str | None = None,
) -> list[View]:
    """What `every(teams)` lists of the teams `actor` reads (`team` only, if named), kept where
    the actor reads the project and it is in the place named."""
    places = actor.readable_places()
    teams = None if places is None else places.team_names()
    if team is not None:
        teams = frozenset({team}) if teams is None or team in teams else frozenset()
    return [
        view
        for view in await every(teams)
        if actor.may_read(view.team, view.project)
        and project in (None, view.project)
        and environment in (None, view.environment)
    ]
