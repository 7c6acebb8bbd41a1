"""An inline compose file is weighed when it is saved, against what an instance admin allowed
its team: refused naming each line and key, accepted once allowed, still refused for another
team; the allowances are an instance admin's to set, and show in the team's audit history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rivetr.domain.access import SYSTEM, user_actor
from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.where import ComposeError
from rivetr.domain.errors import Forbidden
from rivetr.domain.stack_commands import ChangeStackSettings, CreateStack, SetStackVariables
from rivetr.domain.teams import ROOT_TEAM

PLAIN = "services:\n  web:\n    image: nginx:1.27\n"
PRIVILEGED = PLAIN + "    privileged: true\n"


def create(call: Callable[..., Any], services: Any, team: str, text: str = PRIVILEGED) -> str:
    command = CreateStack(name="tools", team=team, compose=text)
    stack_id, _ = call(services.stacks.create, SYSTEM, command)
    return str(stack_id)


def test_a_privileged_inline_stack_is_refused_until_its_team_is_allowed_and_only_its_team(
    call: Callable[..., Any], services: Any
) -> None:
    call(services.teams.create, SYSTEM, "acme", "Acme", "ann@example.com")
    call(services.teams.create, SYSTEM, "zeta", "Zeta", "zed@example.com")
    with pytest.raises(ComposeError) as refused:
        create(call, services, "acme")
    assert str(refused.value).startswith("compose.yaml:4: services.web.privileged: ")
    assert refused.value.status == 422

    call(services.stack_allowances.set, SYSTEM, "acme", Allowances(privileged=True))
    assert call(services.read.stacks.one, create(call, services, "acme")).inline
    for other in ("zeta", ROOT_TEAM):
        with pytest.raises(ComposeError, match=r"compose\.yaml:4: services\.web\.privileged"):
            create(call, services, other)


def test_a_change_to_an_inline_file_is_weighed_before_it_is_recorded(
    call: Callable[..., Any], services: Any
) -> None:
    stack_id = create(call, services, ROOT_TEAM, PLAIN)
    change = ChangeStackSettings(stack_id=stack_id, compose=PLAIN + "    ports: ['80:80']\n")
    with pytest.raises(ComposeError, match=r"compose.yaml:4: services.web.ports\[0\]: host port"):
        call(services.stacks.change, SYSTEM, change)
    stack = call(services.store.read_stream, f"stack-{stack_id}")
    assert [recorded.type for recorded in stack] == ["stack.created"]

    call(services.stack_allowances.set, SYSTEM, ROOT_TEAM, Allowances(low_ports=True))
    call(services.stacks.change, SYSTEM, change)


def test_a_change_weighs_the_file_with_the_stacks_own_variables(
    call: Callable[..., Any], services: Any
) -> None:
    text = PLAIN + "    cap_add: ['${CAP}']\n"
    command = CreateStack(name="tools", compose=text, variables={"CAP": "${{project.CAP}}"})
    stack_id, _ = call(services.stacks.create, SYSTEM, command)  # resolved at deploy time
    plain = SetStackVariables(stack_id=stack_id, variables={"CAP": "SYS_ADMIN"})
    call(services.stacks.set_variables, SYSTEM, plain)
    change = ChangeStackSettings(stack_id=stack_id, compose=text + "    init: true\n")
    with pytest.raises(ComposeError, match=r"compose.yaml:4: services.web.cap_add\[0\]"):
        call(services.stacks.change, SYSTEM, change)


def test_a_teams_own_owner_may_not_widen_its_stacks_and_the_change_is_audited(
    call: Callable[..., Any], services: Any, member: Callable[..., str]
) -> None:
    owner = member("ann@acme.test", "owner", "acme")
    admin = member("root@instance.test", "admin", ROOT_TEAM)
    as_owner = user_actor(owner, {"acme": "owner"})
    with pytest.raises(Forbidden, match="only an instance admin"):
        call(services.stack_allowances.set, as_owner, "acme", Allowances(privileged=True))

    as_admin = user_actor(admin, {ROOT_TEAM: "admin"})
    call(services.stack_allowances.set, as_admin, "acme", Allowances(privileged=True))
    shown = call(services.stack_allowances.shown, as_owner, "acme")
    assert (shown.allowances, shown.set_by) == (Allowances(privileged=True), f"user:{admin}")
    entries = call(services.read.audit.recent, 50, ["acme"])
    assert [(e.type, e.actor) for e in entries if e.type.startswith("team.stack")] == [
        ("team.stack_allowances_set", f"user:{admin}")
    ]
