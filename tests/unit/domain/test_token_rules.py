"""Token rules: who may mint which scope, a token minted by a token never widens or outlives
it and dies with it, and which account actions a token may take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain import codec, tokens
from rivetr.domain.access import (
    SCOPE_PERMISSIONS,
    AccountAction,
    Actor,
    Target,
    authorize_account,
    authorize_command,
    token_actor,
    user_actor,
)
from rivetr.domain.commands import (
    ConfirmTotp,
    CreateToken,
    DisableTotp,
    EnrollTotp,
    RevokeSession,
    RevokeToken,
)
from rivetr.domain.errors import Forbidden
from rivetr.domain.events import TokenCreated
from rivetr.domain.tokens import TokenLink, capped_expiry, effective_expiry, refusal

NOW = datetime(2027, 1, 10, tzinfo=UTC)
SCOPES = ("read", "deploy", "admin")
ROLES = ("viewer", "developer", "admin", "owner")
ANN = "ann@example.com"


def at(days: float) -> str:
    return (NOW + timedelta(days=days)).isoformat()


def mint(scope: str, team: str | None = "a", **fields: object) -> CreateToken:
    return CreateToken(
        token_id="child",
        name="ci",
        secret_hash="ab" * 32,
        scope=scope,
        team=team,
        owner=ANN,
        **fields,
    )


def may(actor: Actor, command: object, target: Target | None = None) -> bool:
    try:
        authorize_command(actor, command, target or Target(team="a"))
    except Forbidden:
        return False
    return True


# --- who mints what ---------------------------------------------------------------------------

MINTS = {
    "viewer": set(),
    "developer": {"read", "deploy"},
    "admin": {"read", "deploy", "admin"},
    "owner": {"read", "deploy", "admin"},
}


@pytest.mark.parametrize("role", ROLES)
def test_a_role_mints_the_scopes_the_readme_gives_it(role: str) -> None:
    ann = user_actor(ANN, {"a": role})
    assert {scope for scope in SCOPES if may(ann, mint(scope))} == MINTS[role]


def test_nobody_mints_a_token_for_someone_else_or_names_a_parent_it_is_not() -> None:
    ann = user_actor(ANN, {"a": "owner"})
    with pytest.raises(Forbidden, match="of their own"):
        authorize_command(ann, msgspec.structs.replace(mint("read"), owner="eve@x.io"), Target())
    with pytest.raises(Forbidden, match="parent"):
        authorize_command(ann, mint("read", parent_token_id="t0"), Target(team="a"))


# --- a token minting a token -------------------------------------------------------------------


def parent(scope: str = "admin", role: str = "owner", expires_at: str | None = None) -> Actor:
    return token_actor("t0", "boss", scope, ANN, "a", {"a": role}, expires_at)


def test_an_admin_token_mints_within_its_own_team_scope_and_expiry() -> None:
    boss = parent(expires_at=at(1))
    assert may(boss, mint("deploy", parent_token_id="t0", expires_at=at(1)))
    assert may(boss, mint("admin", parent_token_id="t0", expires_at=at(0.5)))

    refusals = {
        "no parent recorded": mint("read", expires_at=at(1)),
        "another team": mint("read", team="b", parent_token_id="t0", expires_at=at(1)),
        "no expiry": mint("read", parent_token_id="t0"),
        "later expiry": mint("read", parent_token_id="t0", expires_at=at(2)),
    }
    for why, command in refusals.items():
        assert not may(boss, command), why


def test_a_child_never_has_a_wider_scope_than_its_parent() -> None:
    # An admin-scoped token of a developer holds what a developer holds, no admin token
    developers = parent(role="developer")
    assert may(developers, mint("deploy", parent_token_id="t0"))
    assert not may(developers, mint("admin", parent_token_id="t0"))
    # check_child on its own: the scope order, whatever the role
    with pytest.raises(Forbidden, match="at most its own scope"):
        tokens.check_child(mint("admin", parent_token_id="t0"), "t0", "deploy", "a", None)


@pytest.mark.parametrize("scope", ["read", "deploy"])
def test_read_and_deploy_tokens_mint_nothing_and_say_so(scope: str) -> None:
    with pytest.raises(Forbidden, match=f"a {scope}-scoped token cannot mint tokens"):
        authorize_command(parent(scope), mint("read", parent_token_id="t0"), Target(team="a"))


@given(
    parent_scope=st.sampled_from(SCOPES),
    role=st.sampled_from(ROLES),
    parent_days=st.none() | st.integers(1, 400),
    child_scope=st.sampled_from(SCOPES),
    child_team=st.sampled_from(["a", "b"]),
    child_days=st.none() | st.integers(1, 400),
)
def test_whatever_is_asked_an_accepted_child_stays_within_its_parent(
    parent_scope: str,
    role: str,
    parent_days: int | None,
    child_scope: str,
    child_team: str,
    child_days: int | None,
) -> None:
    parent_expiry = at(parent_days) if parent_days is not None else None
    boss = parent(parent_scope, role, parent_expiry)
    # as the service asks: the requested expiry capped at the parent's
    asked = capped_expiry(at(child_days) if child_days is not None else None, parent_expiry)
    child = mint(child_scope, team=child_team, parent_token_id="t0", expires_at=asked)

    if may(boss, child, Target(team=child_team)):
        assert SCOPE_PERMISSIONS[child_scope] <= SCOPE_PERMISSIONS[parent_scope]
        assert child_team == "a"
        assert parent_scope == "admin"  # only admin tokens mint at all
        if parent_expiry is not None:
            assert asked is not None
            assert datetime.fromisoformat(asked) <= datetime.fromisoformat(parent_expiry)
    elif parent_scope == "admin" and role in ("admin", "owner") and child_team == "a":
        pytest.fail("an owner's admin token may mint any scope in its team")


def test_a_child_records_its_parent() -> None:
    state = tokens.TokenState(token_id="child")
    [created] = tokens.decide(state, mint("read", parent_token_id="t0"))
    assert isinstance(created, TokenCreated)
    assert created.parent_token_id == "t0"
    assert tokens.evolve(state, created).parent == "t0"


def test_a_token_created_event_from_before_lineage_decodes_without_a_parent() -> None:
    old = b'{"type":"token.created","token_id":"t","name":"n","secret_hash":"ab","scope":"read"}'
    event = codec.decode("token.created", 1, old)
    assert isinstance(event, TokenCreated)
    assert (event.parent_token_id, event.team, event.owner) == (None, None, None)


# --- standing along the chain ---------------------------------------------------------------


def link(token_id: str, parent_id: str | None = None, **facts: object) -> TokenLink:
    fields: dict[str, object] = {"revoked": False, "expires_at": None, "membership_ended": False}
    fields.update(facts)
    return TokenLink(token_id=token_id, parent_token_id=parent_id, **fields)


def test_a_live_chain_stands_and_any_dead_link_ends_it() -> None:
    child, root = link("c", "p"), link("p")
    assert refusal([child, root], NOW) is None
    assert "was revoked" in str(refusal([child, link("p", revoked=True)], NOW))
    assert "p, which it descends from, expired" in str(
        refusal([child, link("p", expires_at=at(-1))], NOW)
    )
    assert "membership that has ended" in str(refusal([link("c", membership_ended=True)], NOW))
    assert "unknown" in str(refusal([child], NOW))  # its parent is not in the view
    assert refusal([], NOW) == "unknown token"


@given(
    st.lists(
        st.tuples(st.booleans(), st.none() | st.integers(-5, 5), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_a_token_stands_exactly_when_every_token_it_descends_from_does(
    facts: list[tuple[bool, int | None, bool]],
) -> None:
    chain = [
        link(
            f"t{i}",
            f"t{i + 1}" if i + 1 < len(facts) else None,
            revoked=revoked,
            expires_at=at(days) if days is not None else None,
            membership_ended=ended,
        )
        for i, (revoked, days, ended) in enumerate(facts)
    ]
    live = all(
        not revoked and (days is None or days > 0) and not ended for revoked, days, ended in facts
    )
    assert (refusal(chain, NOW) is None) is live
    expiries = [days for _, days, _ in facts if days is not None]
    assert effective_expiry(chain) == (at(min(expiries)) if expiries else None)


# --- account actions ----------------------------------------------------------------------------

ACTIONS: tuple[AccountAction, ...] = (
    "mint tokens",
    "list tokens",
    "revoke tokens",
    "list sessions",
    "end sessions",
    "second factor",
)


def account_actions(actor: Actor) -> set[str]:
    done = set()
    for action in ACTIONS:
        try:
            authorize_account(actor, action)
        except Forbidden:
            continue
        done.add(action)
    return done


def test_a_session_acts_on_its_account_an_admin_token_all_but_the_second_factor() -> None:
    assert account_actions(user_actor(ANN, {})) == set(ACTIONS)
    assert account_actions(parent("admin")) == set(ACTIONS) - {"second factor"}
    assert account_actions(parent("deploy")) == set()
    assert account_actions(parent("read")) == set()


OWN = Target(team="a", owner=ANN)


def test_a_read_or_deploy_token_revokes_itself_only() -> None:
    for scope in ("read", "deploy"):
        token = parent(scope)
        authorize_command(token, RevokeToken(token_id="t0"), OWN)
        with pytest.raises(Forbidden, match=f"a {scope}-scoped token cannot revoke tokens"):
            authorize_command(token, RevokeToken(token_id="other"), OWN)
        with pytest.raises(Forbidden, match="cannot end sessions"):
            authorize_command(token, RevokeSession(user_id=ANN, session_id="s"), OWN)


def test_an_admin_token_revokes_its_owners_tokens_and_ends_their_sessions() -> None:
    token = parent("admin", role="viewer")  # standing in for its owner, whatever the role
    authorize_command(token, RevokeToken(token_id="other"), OWN)
    authorize_command(token, RevokeSession(user_id=ANN, session_id="s"), OWN)


@pytest.mark.parametrize(
    "command",
    [
        EnrollTotp(user_id=ANN, secret="rvs1:x"),
        ConfirmTotp(user_id=ANN, totp_step=1, recovery_hashes=[]),
        DisableTotp(user_id=ANN),
    ],
    ids=lambda c: type(c).__name__,
)
def test_only_a_session_manages_its_own_second_factor(command: object) -> None:
    authorize_command(user_actor(ANN, {}), command, OWN)
    for scope in SCOPES:
        with pytest.raises(Forbidden, match="signed in with a password"):
            authorize_command(parent(scope), command, OWN)
