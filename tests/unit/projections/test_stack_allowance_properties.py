"""For any generated history of teams made, deleted and made again, and allowances set on them
(decided by the domain), the stack allowances view applied as events arrive equals it rebuilt
from zero, and each team's row answers what the domain folds from the team's stream."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.domain import stack_allowances, teams
from rivetr.domain.commands import CreateTeam, DeleteTeam
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.errors import DomainError
from rivetr.domain.events import Event
from rivetr.domain.stack_commands import SetStackAllowances
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.projections.runner import ProjectionRunner

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


def dump(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT * FROM stack_allowances"))
    finally:
        conn.close()


async def check(directory: Path, history: list[tuple[str, str, Allowances]]) -> None:
    store = InMemoryEventStore()
    incremental = ProjectionRunner(store, directory / "incremental.db", all_projections())
    from_zero = ProjectionRunner(store, directory / "from-zero.db", all_projections())
    await incremental.open()
    await from_zero.open()
    streams: dict[str, list[Event]] = {team: [] for team in TEAMS}
    try:
        for number, (kind, team, allowances) in enumerate(history):
            try:
                events = decided(streams[team], kind, team, allowances)
            except DomainError:
                continue
            if events:
                meta = EventMeta(actor=f"user:{number}", team=team)
                await store.append(teams.stream_id(team), ANY_VERSION, events, meta)
                streams[team] += events
                await incremental.catch_up()
        assert await from_zero.catch_up() == await store.head()
        assert incremental.failures == {} == from_zero.failures
        built = dump(directory / "incremental.db")
        assert built == dump(directory / "from-zero.db")
        read = await ReadModel.open(directory / "incremental.db")
        try:
            for team, history_of_team in streams.items():
                folded = stack_allowances.fold(team, history_of_team).allowances
                assert await read.stack_allowances.allowances(team) == folded
        finally:
            await read.close()
        assert await incremental.rebuild() == await store.head()
        assert dump(directory / "incremental.db") == built
    finally:
        await incremental.close()
        await from_zero.close()


@given(st.lists(steps, min_size=5, max_size=60))
@settings(max_examples=60, deadline=None)
def test_allowances_applied_as_they_arrive_equal_them_rebuilt_and_the_domain(
    history: list[tuple[str, str, Allowances]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        anyio.run(check, Path(directory), history)
