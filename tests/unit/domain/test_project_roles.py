"""Project roles: a member's role narrowed or widened in one project of their team, as the
actor holds it (commands and reads), as tokens limited to a project hold it, and as the team's
stream decides it."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import project_roles, projects, teams
from rivetr.domain.access import (
    Permission,
    Target,
    authorize_command,
    token_actor,
    user_actor,
)
from rivetr.domain.commands import (
    ChangeAppSettings,
    CreateToken,
    DeleteApp,
    MoveApp,
    RequestDeployment,
    SetProjectRole,
)
from rivetr.domain.errors import Forbidden, InvalidCommand, NotFound
from rivetr.domain.events import (
    MemberAdded,
    MemberRemoved,
    OwnershipTransferred,
    ProjectCreated,
    ProjectRoleSet,
    TeamCreated,
)
from rivetr.domain.places import Places, event_project
from rivetr.domain.tokens import check_child

P = Permission
ANN = "ann@example.com"
SHOP, BLOG = Target(team="a", project="shop"), Target(team="a", project="blog")


def deploy(app: str = "web") -> RequestDeployment:
    return RequestDeployment(deployment_id="d1", app=app)


def test_a_viewer_made_developer_in_one_project_deploys_there_only() -> None:
    ann = user_actor(ANN, {"a": "viewer"}, project_roles={"a": {"shop": "developer"}})
    authorize_command(ann, deploy(), SHOP)
    with pytest.raises(Forbidden, match="in project 'blog' of team 'a'"):
        authorize_command(ann, deploy(), BLOG)
    assert ann.may_read("a", "blog")
    assert ann.may_read("a")


def test_a_developer_made_viewer_in_one_project_only_reads_it() -> None:
    ann = user_actor(ANN, {"a": "developer"}, project_roles={"a": {"blog": "viewer"}})
    authorize_command(ann, ChangeAppSettings(name="web", port=9000), SHOP)
    with pytest.raises(Forbidden):
        authorize_command(ann, ChangeAppSettings(name="web", port=9000), BLOG)
    assert ann.may_read("a", "blog")


def test_a_project_role_of_none_keeps_the_member_out_of_that_project() -> None:
    ann = user_actor(ANN, {"a": "admin"}, project_roles={"a": {"blog": "none"}})
    assert not ann.may_read("a", "blog")
    assert ann.may_read("a", "shop")
    assert ann.can(P.MANAGE_MEMBERS, "a")


def test_a_guest_holds_only_what_their_project_roles_give() -> None:
    guest = user_actor(ANN, {"a": "guest"}, project_roles={"a": {"shop": "developer"}})
    authorize_command(guest, deploy(), SHOP)
    assert guest.may_read("a", "shop")
    assert not guest.may_read("a", "blog")
    assert not guest.may_read("a")  # nor the team's own members and invitations
    assert guest.readable_teams() == frozenset()
    assert guest.readable_places() == Places(
        teams=frozenset(), hidden=frozenset(), projects=frozenset({("a", "shop")})
    )


def test_project_roles_of_a_team_one_has_left_count_for_nothing() -> None:
    ann = user_actor(ANN, {}, project_roles={"a": {"shop": "admin"}})
    assert not ann.may_read("a", "shop")


def test_moving_an_app_needs_manage_apps_where_it_lands_too() -> None:
    ann = user_actor(ANN, {"a": "guest"}, project_roles={"a": {"shop": "admin"}})
    move = MoveApp(name="web", project="blog", environment="production")
    with pytest.raises(Forbidden, match="'blog'"):
        authorize_command(ann, move, SHOP)
    authorize_command(ann, DeleteApp(name="web"), SHOP)


def test_readable_places_hide_the_projects_a_member_is_kept_out_of() -> None:
    ann = user_actor(
        ANN,
        {"a": "viewer", "b": "guest"},
        project_roles={"a": {"blog": "none"}, "b": {"x": "viewer"}},
    )
    places = ann.readable_places()
    assert places is not None
    assert places.sees("a", "shop")
    assert places.sees("a", None)
    assert not places.sees("a", "blog")
    assert places.sees("b", "x")
    assert not places.sees("b", "y")
    assert not places.sees("b", None)
    assert places.team_names() == {"a", "b"}
    assert not places.whole()
    assert user_actor(ANN, {"a": "viewer"}).readable_places() == Places(
        teams=frozenset({"a"}), hidden=frozenset(), projects=frozenset()
    )


def test_an_event_belongs_to_its_apps_project_or_the_project_whose_stream_it_is_in() -> None:
    assert event_project("deployment-d1", "shop") == "shop"
    assert event_project("project-a/blog", None) == "blog"
    assert event_project("team-a", None) is None


# --- tokens -------------------------------------------------------------------------------------


def test_a_token_limited_to_a_project_acts_in_it_and_nowhere_else() -> None:
    token = token_actor("t", "ci", "deploy", ANN, "a", {"a": "owner"}, project="shop")
    assert token.can(P.DEPLOY, "a", "shop")
    assert not token.can(P.DEPLOY, "a", "blog")
    assert not token.can(P.READ, "a")  # the team's own things are outside its project
    assert not token.reads_instance_events()
    assert token.readable_places() == Places(
        teams=frozenset(), hidden=frozenset(), projects=frozenset({("a", "shop")})
    )


def test_a_token_holds_its_owners_project_role_within_its_scope() -> None:
    roles = {"a": {"shop": "developer", "blog": "none"}}
    token = token_actor("t", "ci", "admin", ANN, "a", {"a": "viewer"}, project_roles=roles)
    assert token.can(P.DEPLOY, "a", "shop")
    assert not token.can(P.MANAGE_APPS, "a", "shop")
    assert not token.can(P.READ, "a", "blog")
    narrow = token_actor("t", "ci", "read", ANN, "a", {"a": "viewer"}, project_roles=roles)
    assert not narrow.can(P.DEPLOY, "a", "shop")


def test_the_clis_ownerless_token_limited_to_a_project_stays_in_it() -> None:
    token = token_actor("t", "ci", "admin", None, "a", {}, project="shop")
    assert token.can(P.MANAGE_APPS, "a", "shop")
    assert not token.can(P.READ, "b", "shop")
    assert not token.can(P.READ, "a", "blog")


def mint(project: str | None) -> CreateToken:
    return CreateToken(
        token_id="t2",
        name="child",
        secret_hash="ab" * 32,
        scope="read",
        owner=ANN,
        team="a",
        parent_token_id="t1",
        project=project,
    )


def test_a_token_limited_to_a_project_mints_tokens_of_that_project_only() -> None:
    check_child(mint("shop"), "t1", "deploy", "a", None, "shop")
    for wider in (None, "blog"):
        with pytest.raises(Forbidden, match="project 'shop'"):
            check_child(mint(wider), "t1", "deploy", "a", None, "shop")
    check_child(mint("shop"), "t1", "deploy", "a", None, None)  # narrower is fine


def test_minting_a_token_for_a_project_needs_the_permission_there() -> None:
    ann = user_actor(ANN, {"a": "guest"}, project_roles={"a": {"shop": "developer"}})
    minted = CreateToken(
        token_id="t", name="ci", secret_hash="ab" * 32, scope="deploy", owner=ANN, team="a"
    )
    authorize_command(ann, mint_for(minted, "shop"), SHOP)
    with pytest.raises(Forbidden):
        authorize_command(ann, mint_for(minted, "blog"), BLOG)


def mint_for(command: CreateToken, project: str) -> CreateToken:
    return msgspec.structs.replace(command, project=project)


# --- the decision -------------------------------------------------------------------------------


def team_state() -> teams.TeamState:
    return teams.fold(
        "a",
        [
            TeamCreated(team="a", name="A", owner="owner@example.com"),
            MemberAdded(team="a", user_id=ANN, role="viewer"),
        ],
    )


def shop() -> projects.ProjectState:
    key = projects.key("a", "shop")
    return projects.fold(
        key, [ProjectCreated(team="a", project="shop", name="Shop", environments=["production"])]
    )


def set_role(role: str | None, user: str = ANN, project: str = "shop") -> SetProjectRole:
    return SetProjectRole(team="a", user_id=user, project=project, role=role)  # type: ignore[arg-type]


def test_a_members_project_role_is_set_and_taken_back() -> None:
    state = team_state()
    [event] = project_roles.decide(state, shop(), set_role("developer"))
    assert event == ProjectRoleSet(team="a", user_id=ANN, project="shop", role="developer")
    state = teams.evolve(state, event)
    assert state.project_roles == {ANN: {"shop": "developer"}}
    [removed] = project_roles.decide(state, shop(), set_role(None))
    assert teams.evolve(state, removed).project_roles == {ANN: {}}
    assert project_roles.decide(teams.evolve(state, removed), shop(), set_role(None)) == []


def test_a_project_role_is_refused_for_the_owner_a_stranger_and_an_unknown_project() -> None:
    with pytest.raises(InvalidCommand, match="covers every project"):
        project_roles.decide(team_state(), shop(), set_role("viewer", "owner@example.com"))
    with pytest.raises(InvalidCommand, match="not a member"):
        project_roles.decide(team_state(), shop(), set_role("viewer", "eve@example.com"))
    nowhere = projects.fold(projects.key("a", "nowhere"), [])
    with pytest.raises(NotFound, match="no project 'nowhere' in team 'a'"):
        project_roles.decide(team_state(), nowhere, set_role("viewer", project="nowhere"))
    default = projects.fold(projects.key("a", projects.DEFAULT_PROJECT), [])
    assert project_roles.decide(team_state(), default, set_role("none", project="default"))


def test_leaving_the_team_or_owning_it_ends_ones_project_roles() -> None:
    state = teams.evolve(
        team_state(), ProjectRoleSet(team="a", user_id=ANN, project="shop", role="admin")
    )
    assert ANN not in teams.evolve(state, MemberRemoved(team="a", user_id=ANN)).project_roles
    handed = OwnershipTransferred(team="a", from_user="owner@example.com", to_user=ANN)
    assert ANN not in teams.evolve(state, handed).project_roles
