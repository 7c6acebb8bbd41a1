"""The forms of a team's page: a member's role (in the team, or in one project) or removal, an
invitation (its link shown once)
and its revocation, handing the team over, and deleting it (its name typed to confirm). Each
carries the page's CSRF token and goes through the team service, so the same authorisation and
events as the API; a refusal shows the team page again with the problem beside its field."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect
from litestar.status_codes import HTTP_201_CREATED

from rivetr.domain.commands import Slug
from rivetr.domain.errors import InvalidCommand
from rivetr.service.commands.teams import TeamService
from rivetr.service.queries.teams import TeamReads
from rivetr.web.api.teams import NewInvitation, ProjectRoleChange, RoleChange, Transfer
from rivetr.web.pages.forms import Act
from rivetr.web.pages.guard import Layout
from rivetr.web.pages.teams import Shown, TeamPage


class MemberForm(msgspec.Struct):
    csrf_token: str = ""
    role: str = ""
    email: str = ""
    to_user: str = ""
    confirm: str = ""
    user_id: str = ""
    project: str = ""


def provide_team_page(
    layout: NamedDependency[Layout], team_reads: NamedDependency[TeamReads], team: FromPath[str]
) -> TeamPage:
    return TeamPage(layout, team_reads, team)


class TeamActions(Controller):
    path = "/teams/{team:str}"
    include_in_schema = False
    dependencies = {"page": Provide(provide_team_page, sync_to_thread=False)}

    @post("/members/{user_id:str}/role")
    async def change_role(
        self,
        user_id: FromPath[str],
        teams: NamedDependency[TeamService],
        page: NamedDependency[TeamPage],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        async def change() -> Response[Any]:
            asked = msgspec.convert({"role": data.role}, RoleChange)
            await teams.change_role(page.layout.actor, page.team, user_id, asked.role)
            return Redirect(f"/teams/{page.team}")

        return await _submitted(page, data, change, "members")

    @post("/members/{user_id:str}/remove")
    async def remove_member(
        self,
        user_id: FromPath[str],
        teams: NamedDependency[TeamService],
        page: NamedDependency[TeamPage],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        async def remove() -> Response[Any]:
            await teams.remove_member(page.layout.actor, page.team, user_id)
            return Redirect(f"/teams/{page.team}")

        return await _submitted(page, data, remove, "members")

    @post("/project-roles")
    async def set_project_role(
        self,
        teams: NamedDependency[TeamService],
        page: NamedDependency[TeamPage],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        """Give a member a role in one project of the team, in place of their team role."""
        typed = {"user_id": data.user_id, "project": data.project.strip(), "role": data.role}

        async def change() -> Response[Any]:
            project = msgspec.convert(typed["project"], Slug)
            role = msgspec.convert({"role": data.role}, ProjectRoleChange).role
            await teams.set_project_role(page.layout.actor, page.team, data.user_id, project, role)
            return Redirect(f"/teams/{page.team}")

        return await page.submitted(data.csrf_token, change, "project-roles", typed)

    @post("/members/{user_id:str}/projects/{project:str}/remove")
    async def remove_project_role(
        self,
        user_id: FromPath[str],
        project: FromPath[str],
        teams: NamedDependency[TeamService],
        page: NamedDependency[TeamPage],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        async def remove() -> Response[Any]:
            await teams.set_project_role(page.layout.actor, page.team, user_id, project, None)
            return Redirect(f"/teams/{page.team}")

        return await _submitted(page, data, remove, "project-roles")

    @post("/invitations")
    async def invite(
        self,
        teams: NamedDependency[TeamService],
        page: NamedDependency[TeamPage],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        """Invite by e-mail: the page answers with the link, this once (no redirect, so that
        reloading never shows it again: only its hash is kept)."""
        typed = {"email": data.email.strip(), "role": data.role}

        async def invite() -> Response[Any]:
            asked = msgspec.convert(typed, NewInvitation)
            invited = await teams.invite(page.layout.actor, page.team, asked.email, asked.role)
            link = str(page.layout.request.url_for("accept_page", secret=invited.secret))
            shown = Shown(
                invited={"email": asked.email, "link": link, "expires_at": invited.expires_at},
                status=HTTP_201_CREATED,
            )
            return await page.shown(shown)

        return await page.submitted(data.csrf_token, invite, "invite", typed)

    @post("/invitations/{invitation_id:str}/revoke")
    async def revoke_invitation(
        self,
        invitation_id: FromPath[str],
        teams: NamedDependency[TeamService],
        page: NamedDependency[TeamPage],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        async def revoke() -> Response[Any]:
            await teams.revoke_invitation(page.layout.actor, page.team, invitation_id)
            return Redirect(f"/teams/{page.team}")

        return await _submitted(page, data, revoke, "invitations")

    @post("/transfer")
    async def transfer(
        self,
        teams: NamedDependency[TeamService],
        page: NamedDependency[TeamPage],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        async def transfer() -> Response[Any]:
            asked = msgspec.convert({"to_user": data.to_user}, Transfer)
            await teams.transfer(page.layout.actor, page.team, asked.to_user)
            return Redirect(f"/teams/{page.team}")

        return await _submitted(page, data, transfer, "transfer")

    @post("/delete")
    async def delete_team(
        self,
        teams: NamedDependency[TeamService],
        page: NamedDependency[TeamPage],
        data: URLEncodedBody[MemberForm],
    ) -> Response[Any]:
        """Deleting needs the team's name typed again: a slip of the mouse deletes nothing."""
        team = page.team

        async def delete() -> Response[Any]:
            if data.confirm.strip() != team:
                raise InvalidCommand(f"type the team's name, {team}, to delete it", field="confirm")
            await teams.delete(page.layout.actor, team)
            return Redirect("/teams")

        return await _submitted(page, data, delete, "delete")


async def _submitted(page: TeamPage, data: MemberForm, act: Act, form: str) -> Response[Any]:
    """A member, invitation, hand-over or delete form: what `act` answers, or the team page
    with the refusal beside `form`, and what was typed in its fields shown again."""
    typed = {"to_user": data.to_user, "confirm": data.confirm}
    return await page.submitted(data.csrf_token, act, form, typed)
