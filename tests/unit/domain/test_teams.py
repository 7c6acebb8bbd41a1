"""Team decisions: one owner, handed over and never removed; members and roles; invitations
that work once, until they expire, for the address they were sent to."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rivetr.domain import teams
from rivetr.domain.commands import (
    AddMember,
    ChangeMemberRole,
    CreateTeam,
    DeleteTeam,
    InviteMember,
    RemoveMember,
    RevokeInvitation,
    TeamCommand,
    TransferOwnership,
)
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    InvitationAccepted,
    MemberAdded,
    MemberRemoved,
    OwnershipTransferred,
    TeamDeleted,
)
from rivetr.domain.teams import AcceptInvitation, TeamState

ANN, BOB = "ann@example.com", "bob@example.com"
LATER = "2030-01-01T00:00:00+00:00"


def run(state: TeamState, *commands: TeamCommand) -> TeamState:
    for command in commands:
        for event in teams.decide(state, command):
            state = teams.evolve(state, event)
    return state


def acme(*commands: TeamCommand) -> TeamState:
    return run(TeamState(team="acme"), CreateTeam(team="acme", name="Acme", owner=ANN), *commands)


def invite(email: str = BOB, invitation_id: str = "i1") -> InviteMember:
    return InviteMember(
        team="acme",
        invitation_id=invitation_id,
        email=email,
        role="developer",
        secret_hash="ab" * 32,
        expires_at=LATER,
    )


def accept(state: TeamState, user: str = BOB, at: str = "2029-01-01T00:00:00+00:00") -> list:
    return teams.decide_accept(state, AcceptInvitation(invitation_id="i1", user_id=user, at=at))


def fold_all(state: TeamState, events: Sequence) -> TeamState:
    for event in events:
        state = teams.evolve(state, event)
    return state


def test_the_creator_is_the_owner() -> None:
    state = acme()
    assert (state.owner, state.members) == (ANN, {ANN: "owner"})
    with pytest.raises(AlreadyExists):
        run(state, CreateTeam(team="acme", name="Again", owner=BOB))


def test_commands_on_a_team_that_does_not_exist_are_not_found() -> None:
    with pytest.raises(NotFound, match="no team 'acme'"):
        run(TeamState(team="acme"), AddMember(team="acme", user_id=BOB, role="viewer"))


def test_an_invitation_is_accepted_once_by_the_invited_address() -> None:
    state = acme(invite())

    with pytest.raises(InvalidCommand, match=r"for bob@example\.com"):
        accept(state, user="eve@example.com")
    events = accept(state)
    assert [type(e) for e in events] == [InvitationAccepted, MemberAdded]
    state = fold_all(state, events)
    assert state.members[BOB] == "developer"
    with pytest.raises(NotFound, match="used, revoked"):
        accept(state)


def test_an_expired_or_revoked_invitation_lets_nobody_in() -> None:
    state = acme(invite())
    with pytest.raises(InvalidCommand, match="expired"):
        accept(state, at="2031-01-01T00:00:00+00:00")
    revoked = run(state, RevokeInvitation(team="acme", invitation_id="i1"))
    with pytest.raises(NotFound):
        accept(revoked)
    assert teams.decide(revoked, RevokeInvitation(team="acme", invitation_id="i1")) == []


def test_a_member_cannot_be_invited_again() -> None:
    with pytest.raises(AlreadyExists, match="already a member"):
        acme(invite(email="ANN@example.com"))


def test_the_owner_cannot_be_removed_or_demoted_only_replaced() -> None:
    state = acme(AddMember(team="acme", user_id=BOB, role="admin"))
    with pytest.raises(InvalidCommand, match="hand ownership over"):
        run(state, RemoveMember(team="acme", user_id=ANN))
    with pytest.raises(InvalidCommand, match="hand ownership over"):
        run(state, ChangeMemberRole(team="acme", user_id=ANN, role="viewer"))
    with pytest.raises(InvalidCommand, match="one owner"):
        run(state, AddMember(team="acme", user_id=BOB, role="owner"))

    [event] = teams.decide(state, TransferOwnership(team="acme", to_user=BOB))
    assert event == OwnershipTransferred(team="acme", from_user=ANN, to_user=BOB)
    state = teams.evolve(state, event)
    assert (state.owner, state.members) == (BOB, {ANN: "admin", BOB: "owner"})
    assert teams.decide(state, TransferOwnership(team="acme", to_user=BOB)) == []


def test_ownership_goes_only_to_a_member() -> None:
    with pytest.raises(InvalidCommand, match="not a member"):
        acme(TransferOwnership(team="acme", to_user=BOB))


def test_roles_change_and_members_leave() -> None:
    state = acme(AddMember(team="acme", user_id=BOB, role="viewer"))
    state = run(state, ChangeMemberRole(team="acme", user_id=BOB, role="admin"))
    assert state.members[BOB] == "admin"
    assert teams.decide(state, ChangeMemberRole(team="acme", user_id=BOB, role="admin")) == []
    assert teams.decide(state, RemoveMember(team="acme", user_id=BOB)) == [
        MemberRemoved(team="acme", user_id=BOB)
    ]
    with pytest.raises(NotFound, match="not a member"):
        run(state, RemoveMember(team="acme", user_id="eve@example.com"))


def test_a_team_with_apps_or_the_default_team_is_not_deleted() -> None:
    with pytest.raises(InvalidCommand, match="still owns 2 app"):
        acme(DeleteTeam(team="acme", apps_left=2))
    with pytest.raises(InvalidCommand, match="still has project shop, environment default/qa"):
        acme(DeleteTeam(team="acme", places_left=["project shop", "environment default/qa"]))
    assert teams.decide(acme(), DeleteTeam(team="acme")) == [TeamDeleted(team="acme")]
    default = run(TeamState(team="default"), CreateTeam(team="default", name="Default", owner=ANN))
    with pytest.raises(InvalidCommand, match="cannot be deleted"):
        run(default, DeleteTeam(team="default"))


def test_a_deleted_team_can_be_created_again_empty() -> None:
    state = acme(AddMember(team="acme", user_id=BOB, role="admin"), DeleteTeam(team="acme"))
    assert not state.exists
    again = run(state, CreateTeam(team="acme", name="Acme 2", owner=BOB))
    assert again.members == {BOB: "owner"}
