"""An inline compose file weighed when saved: what the deploy would refuse whatever its open
variables hold is refused now, every refusal named by line and key; what hangs on a reference
resolved at deploy time, or on a variable not set yet, is left to the deploy."""

from __future__ import annotations

import pytest

from rivetr.domain.compose.allowances import Allowances
from rivetr.domain.compose.inline_check import check_inline
from rivetr.domain.compose.refusals import ComposeRefusals
from rivetr.domain.compose.where import ComposeError

NOTHING = Allowances()
HEAD = "services:\n  web:\n    image: busybox\n"


def check(text: str, allowances: Allowances = NOTHING, **variables: str) -> None:
    check_inline(text, variables=variables, allowances=allowances, data_dir="/var/lib/rivetr")


def refused(text: str, allowances: Allowances = NOTHING, **variables: str) -> str:
    with pytest.raises(ComposeError) as caught:
        check(text, allowances, **variables)
    return str(caught.value)


def test_a_refusal_names_the_file_its_line_and_the_key() -> None:
    assert refused(HEAD + "    privileged: true\n").startswith(
        "compose.yaml:4: services.web.privileged: a privileged container"
    )


def test_every_refusal_is_named_at_once_in_reading_order() -> None:
    with pytest.raises(ComposeRefusals) as caught:
        check(HEAD + "    ports: ['80:80']\n    privileged: true\n")
    assert str(caught.value).splitlines() == [str(one) for one in caught.value.refusals]
    assert [str(one).split(": ")[0:2] for one in caught.value.refusals] == [
        ["compose.yaml:4", "services.web.ports[0]"],
        ["compose.yaml:5", "services.web.privileged"],
    ]


def test_what_the_team_is_allowed_is_accepted() -> None:
    check(HEAD + "    privileged: true\n", Allowances(privileged=True))


def test_what_no_one_may_allow_is_refused_whatever_is_allowed() -> None:
    everything = Allowances(privileged=True, bind_prefixes=("/srv",), unconfined=True)
    text = HEAD + "    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n"
    assert "compose.yaml:4: services.web.volumes[0]" in refused(text, everything)


def test_a_file_that_is_not_compose_is_refused_at_its_line() -> None:
    assert refused(HEAD + "    ports: ['eighty']\n").startswith("compose.yaml:4:")


def test_a_line_using_a_reference_resolved_at_deploy_time_is_left_to_the_deploy() -> None:
    text = HEAD + "    ports: ['${PORT}:8080']\n    cap_add: ['${CAP}']\n"
    check(text, PORT="${{project.PORT}}", CAP="${{project.CAP}}")


def test_a_line_using_a_variable_not_set_yet_is_left_to_the_deploy() -> None:
    check(HEAD + "    environment:\n      TOKEN: ${TOKEN:?set TOKEN first}\n")
    check(HEAD + "    cap_add: ['${CAP}']\n")


def test_the_other_lines_are_still_weighed_when_some_are_left_open() -> None:
    text = HEAD + "    ports: ['${PORT}:8080']\n    privileged: true\n"
    assert "compose.yaml:5: services.web.privileged" in refused(text, PORT="${{project.PORT}}")
    assert "compose.yaml:5: services.web.privileged" in refused(text)


def test_a_variable_set_to_a_plain_value_is_weighed_as_the_deploy_will() -> None:
    text = HEAD + "    cap_add: ['${CAP}']\n"
    assert "compose.yaml:4: services.web.cap_add[0]" in refused(text, CAP="SYS_ADMIN")
    check(text, Allowances(cap_add=frozenset({"SYS_ADMIN"})), CAP="SYS_ADMIN")
