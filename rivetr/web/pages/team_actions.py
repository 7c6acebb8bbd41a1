"""The forms of a team's page: a member's role or removal, an invitation (its link shown once)
and its revocation, handing the team over, and deleting it (its name typed to confirm). Each
carries the page's CSRF token and goes through the team service, so the same authorisation and
events as the API; a refusal shows the team page again with the problem beside its field."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect
from litestar.status_codes import HTTP_201_CREATED

from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.domain.access import Actor
from rivetr.domain.errors import InvalidCommand
from rivetr.service.commands.teams import TeamService
from rivetr.service.queries.teams import TeamReads
from rivetr.web.api.teams import NewInvitation, RoleChange, Transfer
from rivetr.web.pages.forms import Act, submitted
from rivetr.web.pages.guard import Layout
from rivetr.web.pages.teams import Shown, team_page, team_refused


class MemberForm(msgspec.Struct):
    csrf_token: str = ""
    role: str = ""
    email: str = ""
    to_user: str = ""
    confirm: str = ""


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
        async def change() -> Response[Any]:
            asked = msgspec.convert({"role": data.role}, RoleChange)
            await teams.change_role(actor, team, user_id, asked.role)
            return Redirect(f"/teams/{team}")

        page = TeamPageForm(Layout(request, actor, engine), team_reads, team, data)
        return await page.submitted("members", change)

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
        async def remove() -> Response[Any]:
            await teams.remove_member(actor, team, user_id)
            return Redirect(f"/teams/{team}")

        page = TeamPageForm(Layout(request, actor, engine), team_reads, team, data)
        return await page.submitted("members", remove)

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
        layout = Layout(request, actor, engine)
        typed = {"email": data.email.strip(), "role": data.role}

        async def invite() -> Response[Any]:
            asked = msgspec.convert(typed, NewInvitation)
            invited = await teams.invite(actor, team, asked.email, asked.role)
            link = str(request.url_for("accept_page", secret=invited.secret))
            shown = Shown(
                invited={"email": asked.email, "link": link, "expires_at": invited.expires_at},
                status=HTTP_201_CREATED,
            )
            return await team_page(layout, team_reads, team, shown)

        refused = team_refused(layout, team_reads, team, "invite", typed)
        return await submitted(layout, data.csrf_token, invite, refused)

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
        async def revoke() -> Response[Any]:
            await teams.revoke_invitation(actor, team, invitation_id)
            return Redirect(f"/teams/{team}")

        page = TeamPageForm(Layout(request, actor, engine), team_reads, team, data)
        return await page.submitted("invitations", revoke)

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
        async def transfer() -> Response[Any]:
            asked = msgspec.convert({"to_user": data.to_user}, Transfer)
            await teams.transfer(actor, team, asked.to_user)
            return Redirect(f"/teams/{team}")

        page = TeamPageForm(Layout(request, actor, engine), team_reads, team, data)
        return await page.submitted("transfer", transfer)

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

        async def delete() -> Response[Any]:
            if data.confirm.strip() != team:
                raise InvalidCommand(f"type the team's name, {team}, to delete it", field="confirm")
            await teams.delete(actor, team)
            return Redirect("/teams")

        page = TeamPageForm(Layout(request, actor, engine), team_reads, team, data)
        return await page.submitted("delete", delete)


class TeamPageForm:
    """One of the team page's forms sent: the page again with its refusal, if refused."""

    def __init__(self, layout: Layout, team_reads: TeamReads, team: str, data: MemberForm) -> None:
        self.layout = layout
        self.team_reads = team_reads
        self.team = team
        self.data = data

    async def submitted(self, form: str, act: Act) -> Response[Any]:
        """What `act` answers (back to the page, or the teams once deleted), or the page with
        the refusal beside `form`, and what was typed in the fields a refusal shows again."""
        typed = {"to_user": self.data.to_user, "confirm": self.data.confirm}
        refused = team_refused(self.layout, self.team_reads, self.team, form, typed)
        return await submitted(self.layout, self.data.csrf_token, act, refused)
