"""The forms of a team's page: a member's role or removal, an invitation (its link shown once)
and its revocation, handing the team over, and deleting it (its name typed to confirm). Each
carries the page's CSRF token and goes through the team service, so the same authorisation and
events as the API; a refusal shows the team page again with the problem beside its field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect
from litestar.status_codes import HTTP_201_CREATED

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.domain.errors import DomainError, InvalidCommand
from rivetr.service.commands.teams import TeamService
from rivetr.service.queries.teams import TeamReads
from rivetr.web.api.teams import NewInvitation, RoleChange, Transfer
from rivetr.web.pages.forms import stale
from rivetr.web.pages.teams import Shown, refused, team_page


class MemberForm(msgspec.Struct):
    csrf_token: str = ""
    role: str = ""
    email: str = ""
    to_user: str = ""
    confirm: str = ""


Change = Callable[[], Awaitable[None]]


class TeamActions(Controller):
    path = "/teams/{team:str}"
    include_in_schema = False

    @post("/members/{user_id:str}/role")
    async def change_role(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[str],
        user_id: FromPath[str],
        actor: NamedDependency[Actor],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        async def change() -> None:
            asked = msgspec.convert({"role": data.role}, RoleChange)
            await teams.change_role(actor, team, user_id, asked.role)

        return await _changed(request, actor, team_reads, engine, team, data, "members", change)

    @post("/members/{user_id:str}/remove")
    async def remove_member(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[str],
        user_id: FromPath[str],
        actor: NamedDependency[Actor],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        change = partial(teams.remove_member, actor, team, user_id)
        return await _changed(request, actor, team_reads, engine, team, data, "members", change)

    @post("/invitations")
    async def invite(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[str],
        actor: NamedDependency[Actor],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        """Invite by e-mail: the page answers with the link, this once (no redirect, so that
        reloading never shows it again: only its hash is kept)."""
        if (expired := stale(request, data.csrf_token, engine)) is not None:
            return expired
        typed = {"email": data.email.strip(), "role": data.role}
        try:
            asked = msgspec.convert(typed, NewInvitation)
            invited = await teams.invite(actor, team, asked.email, asked.role)
        except (msgspec.ValidationError, DomainError) as exc:
            shown = refused("invite", exc, typed)
            return await team_page(request, actor, team_reads, engine, team, shown)
        link = str(request.url_for("accept_page", secret=invited.secret))
        shown = Shown(
            invited={"email": asked.email, "link": link, "expires_at": invited.expires_at},
            status=HTTP_201_CREATED,
        )
        return await team_page(request, actor, team_reads, engine, team, shown)

    @post("/invitations/{invitation_id:str}/revoke")
    async def revoke_invitation(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[str],
        invitation_id: FromPath[str],
        actor: NamedDependency[Actor],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        change = partial(teams.revoke_invitation, actor, team, invitation_id)
        return await _changed(request, actor, team_reads, engine, team, data, "invitations", change)

    @post("/transfer")
    async def transfer(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[str],
        actor: NamedDependency[Actor],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        async def change() -> None:
            asked = msgspec.convert({"to_user": data.to_user}, Transfer)
            await teams.transfer(actor, team, asked.to_user)

        return await _changed(request, actor, team_reads, engine, team, data, "transfer", change)

    @post("/delete")
    async def delete_team(
        self,
        request: Request[Any, Any, Any],
        team: FromPath[str],
        actor: NamedDependency[Actor],
        teams: NamedDependency[TeamService],
        team_reads: NamedDependency[TeamReads],
        engine: NamedDependency[EngineMonitor],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        """Deleting needs the team's name typed again: a slip of the mouse deletes nothing."""

        async def change() -> None:
            if data.confirm.strip() != team:
                raise InvalidCommand(f"type the team's name, {team}, to delete it", field="confirm")
            await teams.delete(actor, team)

        answer = await _changed(request, actor, team_reads, engine, team, data, "delete", change)
        return Redirect("/teams") if isinstance(answer, Redirect) else answer


async def _changed(
    request: Request[Any, Any, Any],
    actor: Actor,
    team_reads: TeamReads,
    engine: EngineMonitor,
    team: str,
    data: MemberForm,
    form: str,
    change: Change,
) -> Response[Any]:
    """Run one of the team page's changes: back to the page, or the page with its refusal."""
    if (expired := stale(request, data.csrf_token, engine)) is not None:
        return expired
    try:
        await change()
    except (msgspec.ValidationError, DomainError) as exc:
        typed = {"to_user": data.to_user, "confirm": data.confirm}
        shown = refused(form, exc, typed)
        return await team_page(request, actor, team_reads, engine, team, shown)
    return Redirect(f"/teams/{team}")
