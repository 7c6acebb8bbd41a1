"""What an instance admin allows one team's compose stacks to ask of the host, decided on the
team's stream: each value checked (capabilities the kernel knows, bind prefixes that are
absolute, written as the host reads them, and none of the places no stack may reach) and
recorded whole. A team deleted and made again under the same slug starts with nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from rivetr.domain import teams
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.host_paths import folded, never
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import Event, StackAllowancesSet, TeamCreated, TeamDeleted
from rivetr.domain.stack_commands import SetStackAllowances

# the Linux capabilities (capabilities(7)), named as compose's `cap_add` names them without
# `CAP_`; `ALL` allows any
CAPABILITIES: Final = frozenset(
    {
        "ALL",
        "AUDIT_CONTROL",
        "AUDIT_READ",
        "AUDIT_WRITE",
        "BLOCK_SUSPEND",
        "BPF",
        "CHECKPOINT_RESTORE",
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "IPC_LOCK",
        "IPC_OWNER",
        "KILL",
        "LEASE",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "MKNOD",
        "NET_ADMIN",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_RAW",
        "PERFMON",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYSLOG",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_CHROOT",
        "SYS_MODULE",
        "SYS_NICE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "WAKE_ALARM",
    }
)
_FIELD: Final = "allowances"


class TeamAllowances(msgspec.Struct, frozen=True, kw_only=True):
    team: teams.TeamState
    allowances: Allowances = Allowances()


def fold(team: str, events: Iterable[Event]) -> TeamAllowances:
    state = TeamAllowances(team=teams.TeamState(team=team))
    for event in events:
        allowances = state.allowances
        if isinstance(event, StackAllowancesSet):
            allowances = event.allowances
        elif isinstance(event, TeamCreated | TeamDeleted):  # nothing carries over to a new team
            allowances = Allowances()
        state = TeamAllowances(team=teams.evolve(state.team, event), allowances=allowances)
    return state


def decide(state: TeamAllowances, command: SetStackAllowances, data_dir: str) -> list[Event]:
    """The allowances recorded whole; nothing when they are what is allowed already.

    Args:
        state: the team's stream, folded.
        command: the allowances asked for.
        data_dir: Rivetr's data directory: no bind prefix may reach it.

    Raises:
        NotFound: there is no such team (the default team always exists).
        InvalidCommand: a capability not known, or a bind prefix that is relative, not written
            as the host reads it, or one of the places no stack may reach; naming it.
    """
    if not state.team.exists and state.team.team != teams.ROOT_TEAM:
        raise NotFound(f"no team {state.team.team!r}")
    asked = command.allowances
    for capability in sorted(asked.cap_add):
        _check_capability(capability)
    for prefix in asked.bind_prefixes:
        _check_prefix(prefix, data_dir)
    if len(set(asked.bind_prefixes)) != len(asked.bind_prefixes):
        raise InvalidCommand("bind_prefixes: a prefix is given twice", field=_FIELD)
    if asked == state.allowances:
        return []
    return [StackAllowancesSet(team=state.team.team, allowances=asked)]


def _check_capability(capability: str) -> None:
    if capability.upper().removeprefix("CAP_") in CAPABILITIES and (
        capability != capability.upper() or capability.startswith("CAP_")
    ):
        name = capability.upper().removeprefix("CAP_")
        raise InvalidCommand(f"cap_add: write {capability!r} as {name!r}", field=_FIELD)
    if capability not in CAPABILITIES:
        raise InvalidCommand(
            f"cap_add: {capability!r} is not a Linux capability (such as NET_ADMIN, or ALL)",
            field=_FIELD,
        )


def _check_prefix(prefix: str, data_dir: str) -> None:
    if not prefix.startswith("/"):
        raise InvalidCommand(
            f"bind_prefixes: {prefix!r} is not an absolute path of the host", field=_FIELD
        )
    if folded(prefix) != prefix:
        raise InvalidCommand(
            f"bind_prefixes: write {prefix!r} as {folded(prefix)!r}, as the host reads it",
            field=_FIELD,
        )
    why = never(prefix, data_dir)
    if why is not None:
        raise InvalidCommand(
            f"bind_prefixes: no stack may ever reach {prefix}: {why}", field=_FIELD
        )
