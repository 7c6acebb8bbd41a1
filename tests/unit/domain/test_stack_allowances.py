"""What an instance admin allows a team's stacks: recorded whole on the team's stream, each
value checked, and nothing carried over to a team made again under the same slug."""

from __future__ import annotations

import pytest

from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import Event, StackAllowancesSet, TeamCreated, TeamDeleted
from rivetr.domain.stack_allowances import decide, fold
from rivetr.domain.stack_commands import SetStackAllowances

ACME = TeamCreated(team="acme", name="Acme", owner="ann@example.com")
DATA_DIR = "/srv/rivetr-data"
PRIVILEGED = Allowances(privileged=True)


def set_on(history: list[Event], allowances: Allowances, team: str = "acme") -> list[Event]:
    command = SetStackAllowances(team=team, allowances=allowances)
    return decide(fold(team, history), command, DATA_DIR)


def test_allowances_are_recorded_whole() -> None:
    wide = Allowances(
        privileged=True,
        cap_add=frozenset({"NET_ADMIN", "SYS_TIME"}),
        devices=True,
        host_namespaces=frozenset({"network", "pid"}),
        unconfined=True,
        bind_prefixes=("/srv/media", "/mnt/photos"),
        low_ports=True,
    )
    assert set_on([ACME], wide) == [StackAllowancesSet(team="acme", allowances=wide)]


def test_the_same_allowances_again_record_nothing() -> None:
    history: list[Event] = [ACME, StackAllowancesSet(team="acme", allowances=PRIVILEGED)]
    assert set_on(history, PRIVILEGED) == []
    assert set_on(history, Allowances()) == [
        StackAllowancesSet(team="acme", allowances=Allowances())
    ]


def test_the_fold_holds_the_last_allowances_set() -> None:
    history: list[Event] = [
        ACME,
        StackAllowancesSet(team="acme", allowances=PRIVILEGED),
        StackAllowancesSet(team="acme", allowances=Allowances(low_ports=True)),
    ]
    assert fold("acme", history).allowances == Allowances(low_ports=True)


def test_a_team_made_again_under_the_same_slug_starts_with_nothing_allowed() -> None:
    history: list[Event] = [
        ACME,
        StackAllowancesSet(team="acme", allowances=PRIVILEGED),
        TeamDeleted(team="acme"),
    ]
    assert fold("acme", history).allowances == Allowances()
    assert fold("acme", [*history, ACME]).allowances == Allowances()


def test_a_team_that_does_not_exist_is_not_found() -> None:
    with pytest.raises(NotFound, match="no team 'acme'"):
        set_on([], PRIVILEGED)
    with pytest.raises(NotFound):
        set_on([ACME, TeamDeleted(team="acme")], PRIVILEGED)


def test_the_default_team_has_allowances_without_being_created() -> None:
    assert set_on([], PRIVILEGED, team="default") == [
        StackAllowancesSet(team="default", allowances=PRIVILEGED)
    ]


@pytest.mark.parametrize(
    ("capability", "message"),
    [
        ("net_admin", "write 'net_admin' as 'NET_ADMIN'"),
        ("CAP_NET_ADMIN", "write 'CAP_NET_ADMIN' as 'NET_ADMIN'"),
        ("NET_WIZARD", "'NET_WIZARD' is not a Linux capability"),
        ("", "'' is not a Linux capability"),
    ],
)
def test_a_capability_must_be_one_the_kernel_knows_named_as_compose_names_it(
    capability: str, message: str
) -> None:
    with pytest.raises(InvalidCommand, match=message) as refused:
        set_on([ACME], Allowances(cap_add=frozenset({capability})))
    assert refused.value.field == "allowances"


def test_all_capabilities_may_be_allowed_at_once() -> None:
    assert set_on([ACME], Allowances(cap_add=frozenset({"ALL"})))


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("srv/media", "is not an absolute path"),
        ("/srv/media/", "write '/srv/media/' as '/srv/media'"),
        ("/srv/../etc", "write '/srv/../etc' as '/etc'"),
        ("/var/run/docker.sock", r"write '/var/run/docker.sock' as '/run/docker.sock'"),
        ("/", "the host's whole filesystem"),
        ("/etc", "the host's configuration"),
        ("/proc/1", "the host's processes"),
        ("/run/docker.sock", "the engine's among them"),
        ("/var/lib/docker/volumes", "the container engine's data"),
        ("/var", "the container engine's data"),  # above it: a bind of /var holds it
        (DATA_DIR, "Rivetr's own data"),
        ("/srv", "Rivetr's own data"),
    ],
)
def test_a_bind_prefix_is_absolute_normalised_and_never_a_place_no_stack_reaches(
    prefix: str, message: str
) -> None:
    with pytest.raises(InvalidCommand, match=message) as refused:
        set_on([ACME], Allowances(bind_prefixes=(prefix,)))
    assert refused.value.field == "allowances"


def test_a_bind_prefix_given_twice_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="given twice"):
        set_on([ACME], Allowances(bind_prefixes=("/mnt/a", "/mnt/a")))
