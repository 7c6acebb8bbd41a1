"""Where an actor reads, as one value that readers of many teams' things at once (the apps
list, the audit history, the event stream) filter by: `access.Actor.readable_places` makes it."""

from __future__ import annotations

import msgspec


class Places(msgspec.Struct, frozen=True, kw_only=True):
    """Where an actor reads, for readers that filter many teams' things at once: whole teams
    (but the projects of theirs it is kept out of), and single projects of other teams."""

    teams: frozenset[str]
    hidden: frozenset[tuple[str, str]]  # (team, project): of `teams`, not read
    projects: frozenset[tuple[str, str]]  # (team, project): read in a team not read whole

    def sees(self, team: str | None, project: str | None) -> bool:
        """Whether something of `project` in `team` is read (project None: of the team
        itself; team None: of no team, which is for `reads_instance_events` to say)."""
        if team is None:
            return False
        if project is None:
            return team in self.teams
        if team in self.teams:
            return (team, project) not in self.hidden
        return (team, project) in self.projects

    def team_names(self) -> frozenset[str]:
        """Every team something is read in: what a query narrows to before `sees`."""
        return self.teams | {team for team, _ in self.projects}

    def whole(self) -> bool:
        """Whether every team read is read whole, so filtering by team is enough."""
        return not self.hidden and not self.projects


PROJECT_STREAM_PREFIX = "project-"  # a project's stream: "project-<team>/<project>"


def event_project(stream_id: str, app_project: str | None) -> str | None:
    """The project an event belongs to, for reading it: its app's (where the app is now, so
    who reads an app reads its whole history), or the project whose stream it is in; None for
    an event of the team itself (its members, its tokens) or of no team."""
    if app_project is not None:
        return app_project
    if stream_id.startswith(PROJECT_STREAM_PREFIX):
        return stream_id.partition("/")[2] or None
    return None
