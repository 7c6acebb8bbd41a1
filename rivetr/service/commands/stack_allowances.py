"""What an instance admin allows each team's compose stacks to ask of the host: set by an
instance admin alone (the command's authorisation says so), read by the team's members and the
instance's administrators, and answered to the deployer and the stack service for each team."""

from __future__ import annotations

from rivetr.adapters.eventstore.base import RecordedEvent
from rivetr.domain import stack_allowances
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import STACK_ALLOWANCES
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.errors import Forbidden
from rivetr.domain.stack_commands import SetStackAllowances
from rivetr.domain.teams import ROOT_TEAM
from rivetr.projections.registry import ReadModel
from rivetr.projections.stack_allowances import StackAllowancesView
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.queries.refusals import Absent


class StackAllowanceService:
    def __init__(self, handler: CommandHandler, read: ReadModel, data_dir: str) -> None:
        """`data_dir`: Rivetr's data directory, absolute: no bind prefix may reach it."""
        self.handler = handler
        self.read = read
        self.data_dir = data_dir

    async def set(self, actor: Actor, team: str, allowances: Allowances) -> list[RecordedEvent]:
        """Replace what `team`'s stacks may ask of the host (what is left out is taken back).

        Raises:
            Forbidden: the actor does not administer the instance.
            NotFound: there is no such team.
            InvalidCommand: a capability or bind prefix that may not be allowed, named.
        """
        command = SetStackAllowances(team=team, allowances=allowances)
        return await self.handler.execute(
            actor,
            command,
            STACK_ALLOWANCES,
            team,
            decide=lambda state, c: stack_allowances.decide(state, c, self.data_dir),
        )

    async def shown(self, actor: Actor, team: str) -> StackAllowancesView:
        """The team's allowances, for its members and the instance's administrators; to anyone
        else the team is absent, as it is on every read."""
        exists = team == ROOT_TEAM or bool(await self.read.teams.every([team]))
        if not exists or not (actor.may_read(team) or actor.administers_instance()):
            raise Absent(f"no team {team!r}")
        return await self.read.stack_allowances.of(team)

    async def every(self, actor: Actor) -> list[StackAllowancesView]:
        """Each team's allowances, for the instance's administrators.

        Raises:
            Forbidden: the actor does not administer the instance.
        """
        if not actor.administers_instance():
            raise Forbidden(f"{actor.label} does not administer this instance")
        slugs = [team.team for team in await self.read.teams.every()]
        slugs = slugs if ROOT_TEAM in slugs else [ROOT_TEAM, *slugs]
        return [await self.read.stack_allowances.of(slug) for slug in slugs]

    async def allowances(self, team: str) -> Allowances:
        """What `team`'s stacks may ask of the host now: for the deployer and the stack
        service, which weigh each compose file against it."""
        return await self.read.stack_allowances.allowances(team)
