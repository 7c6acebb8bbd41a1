"""The dashboard's stack allowances, for the instance's administrators: each team with what its
compose stacks may ask of the host, and a form per team to change it (through the same service
and command as the API). Anyone else gets a 403."""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_403_FORBIDDEN

from rivetr.domain.commands import TeamSlug
from rivetr.domain.compose.allowances import Allowances, Namespace
from rivetr.domain.errors import DomainError
from rivetr.service.commands.stack_allowances import StackAllowanceService
from rivetr.web.pages.forms import FieldProblems, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout

NAMESPACES: tuple[str, ...] = get_args(Namespace)
FLAGS = ("privileged", "devices", "unconfined", "low_ports")


class AllowancesForm(msgspec.Struct):
    """As a form sends it: a checkbox is "on" or absent; capabilities separated by commas or
    spaces; one bind prefix a line."""

    csrf_token: str = ""
    privileged: str = ""
    devices: str = ""
    unconfined: str = ""
    low_ports: str = ""
    cap_add: str = ""
    bind_prefixes: str = ""
    ns_network: str = ""
    ns_pid: str = ""
    ns_ipc: str = ""
    ns_uts: str = ""
    ns_cgroup: str = ""
    ns_userns: str = ""

    def typed(self) -> dict[str, Any]:
        return {
            **{flag: getattr(self, flag) == "on" for flag in FLAGS},
            "cap_add": self.cap_add.replace(",", " ").split(),
            "host_namespaces": [n for n in NAMESPACES if getattr(self, f"ns_{n}") == "on"],
            "bind_prefixes": [line.strip() for line in self.bind_prefixes.splitlines() if line],
        }


class StackAllowancePages(Controller):
    path = "/settings/stack-allowances"
    include_in_schema = False

    @get("/")
    async def allowances_page(
        self,
        layout: NamedDependency[Layout],
        stack_allowances: NamedDependency[StackAllowanceService],
    ) -> Template:
        try:
            teams = await stack_allowances.every(layout.actor)
        except DomainError as exc:
            return layout.page("stack_allowances.html", HTTP_403_FORBIDDEN, refused=str(exc))
        return layout.page("stack_allowances.html", teams=teams)

    @get("/{team:str}")
    async def team_allowances_page(
        self,
        team: FromPath[str],
        layout: NamedDependency[Layout],
        stack_allowances: NamedDependency[StackAllowanceService],
    ) -> Template:
        return await _form(layout, stack_allowances, team)

    @post("/{team:str}")
    async def set_allowances(
        self,
        team: FromPath[str],
        layout: NamedDependency[Layout],
        stack_allowances: NamedDependency[StackAllowanceService],
        data: URLEncodedBody[AllowancesForm],
    ) -> Response[Any]:
        typed = data.typed()

        async def change() -> Response[Any]:
            slug = msgspec.convert(team, TeamSlug)
            await stack_allowances.set(layout.actor, slug, msgspec.convert(typed, Allowances))
            return Redirect("/settings/stack-allowances")

        async def refused(exc: Exception) -> Response[Any]:
            said = {"": " ".join(problems_of(exc).values())}  # the refusal names its field
            return await _form(layout, stack_allowances, team, said, typed, status_of(exc))

        return await submitted(layout, data.csrf_token, change, refused)


async def _form(
    layout: Layout,
    stack_allowances: StackAllowanceService,
    team: str,
    problems: FieldProblems | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    """A team's form: what is allowed now, or what was typed with the refusal beside it; to
    whoever is not an instance administrator, the refusal alone (403)."""
    try:
        teams = {view.team: view for view in await stack_allowances.every(layout.actor)}
    except DomainError as exc:
        # the refusal of what was asked, if something was, else of seeing the page
        refused = (problems or {}).get("") or str(exc)
        return layout.page("stack_allowances.html", HTTP_403_FORBIDDEN, refused=refused)
    if team not in teams:
        return layout.error(f"No team named {team!r}.")
    shown = typed or msgspec.to_builtins(teams[team].allowances)
    return layout.page(
        "stack_allowances_form.html",
        status,
        team=teams[team],
        shown=shown,
        namespaces=NAMESPACES,
        problems=problems or {},
    )
