"""A member's role in one project of their team, in place of their team role there: narrowed
(a developer who only reads `blog`) or widened (a viewer, or a guest, who deploys `shop`).

Decided on the team's stream, checked against the project's: a role is set for a member of
the team, in a project that exists, and never for the owner, whose role is the whole team."""

from __future__ import annotations

from rivetr.domain.commands import SetProjectRole
from rivetr.domain.errors import InvalidCommand, NotFound
from rivetr.domain.events import Event, ProjectRoleSet
from rivetr.domain.projects import ProjectState
from rivetr.domain.teams import TeamState


def decide(team: TeamState, project: ProjectState, command: SetProjectRole) -> list[Event]:
    """Set (or with role None, remove) `command.user_id`'s role in `command.project`.

    Raises:
        NotFound: no such team, or no such project in it.
        InvalidCommand: the user is not a member of the team, or is its owner.
    """
    if not team.exists:
        raise NotFound(f"no team {command.team!r}")
    if not project.exists:
        raise NotFound(f"no project {command.project!r} in team {command.team!r}", field="project")
    if command.user_id not in team.members:
        raise InvalidCommand(
            f"{command.user_id} is not a member of {command.team!r}: invite them to the team "
            "first, as a guest to give them this project only",
            field="user_id",
        )
    if command.user_id == team.owner:
        raise InvalidCommand(
            f"{command.user_id} owns {command.team!r}: the owner's role covers every project "
            "and is not set per project",
            field="user_id",
        )
    held = team.project_roles.get(command.user_id, {})
    if command.role is None and command.project not in held:
        return []
    # set again even when the team's stream says it is set: a project deleted since (another
    # stream) took its roles with it in the teams view

    return [
        ProjectRoleSet(
            team=command.team,
            user_id=command.user_id,
            project=command.project,
            role=command.role,
        )
    ]
