"""For any generated history of teams made, deleted and made again, and allowances set on them
(decided by the domain), the stack allowances view applied as events arrive equals it rebuilt
from zero, and each team's row answers what the domain folds from the team's stream."""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain import stack_allowances, teams
from rivetr.domain.commands import CreateTeam, DeleteTeam
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.errors import DomainError
from rivetr.domain.events import Event
from rivetr.domain.stack_commands import SetStackAllowances
from tests.unit.projections.two_runners import TwoRunners

TEAMS = ["default", "acme", "zeta"]
CHOICES = [
    Allowances(),
    Allowances(privileged=True),
    Allowances(cap_add=frozenset({"NET_ADMIN", "SYS_TIME", "BPF"}), low_ports=True),
    Allowances(host_namespaces=frozenset({"network", "pid", "ipc"}), devices=True),
    Allowances(bind_prefixes=("/mnt/photos", "/srv/media"), unconfined=True),
]
steps = st.tuples(
    st.sampled_from(["create", "delete", "allow", "allow", "allow"]),
    st.sampled_from(TEAMS),
    st.sampled_from(CHOICES),
)


def decided(history: list[Event], kind: str, team: str, allowances: Allowances) -> list[Event]:
    if kind == "allow":
        command = SetStackAllowances(team=team, allowances=allowances)
        return stack_allowances.decide(
            stack_allowances.fold(team, history), command, "/var/lib/rivetr"
        )
    state = teams.fold(team, history)
    if kind == "create":
        return teams.decide(state, CreateTeam(team=team, name=team, owner="ann@x.io"))
    return teams.decide(state, DeleteTeam(team=team))


async def check(directory: Path, history: list[tuple[str, str, Allowances]]) -> None:
    streams: dict[str, list[Event]] = {team: [] for team in TEAMS}
    async with TwoRunners(directory, ["stack_allowances"]) as runners:
        for number, (kind, team, allowances) in enumerate(history):
            try:
                events = decided(streams[team], kind, team, allowances)
            except DomainError:
                continue
            if events:
                meta = EventMeta(actor=f"user:{number}", team=team)
                await runners.append(teams.stream_id(team), events, meta)
                streams[team] += events
        built = await runners.same_from_zero()
        read = await runners.read()
        try:
            for team, history_of_team in streams.items():
                folded = stack_allowances.fold(team, history_of_team).allowances
                assert await read.stack_allowances.allowances(team) == folded
        finally:
            await read.close()
        await runners.same_rebuilt(built)


@given(st.lists(steps, min_size=5, max_size=60))
@settings(max_examples=60, deadline=None)
def test_allowances_applied_as_they_arrive_equal_them_rebuilt_and_the_domain(
    history: list[tuple[str, str, Allowances]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        anyio.run(check, Path(directory), history)
