"""The world the role matrix (test_role_matrix.py) runs in, and who calls into it.

Team acme has two projects, `shop` and `blog`, each with one app (`shopfront`, `blogroll`) and
two releases of it, and one database (`shopdb`, `blogdb`) with a backup and a restore of it;
a viewer of acme (VICTIM) with a session, a token and an open invitation; and a team
`other`. Each caller is a user given a role in acme's team, or only a role in a
project of it (as a guest of the team), or a role in another team; each calls with a session
and with an admin-scoped token of their own (cut down to their role), and one developer also
with a token limited to `shop`. Users and sessions are written as events directly: argon2 and
sign-in have their own tests. Commands reach a store that refuses appends (`FrozenStore`), and
event streams are read up to their first keep-alive (`streamed`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from rivetr.adapters.eventstore.base import EventMeta
from rivetr.domain.access import SYSTEM
from rivetr.domain.commands import CreateApp, CreateProject
from rivetr.domain.errors import DomainError
from rivetr.domain.events import (
    SessionStarted,
    TokenCreated,
    UserCreated,
)
from rivetr.domain.job_commands import CreateJob, RunJob
from rivetr.service.commands.tokens import TOKEN_PREFIX, hash_secret
from rivetr.service.commands.users import SESSION_PREFIX, csrf_token
from tests.web.database_steps import database_with_backup
from tests.web.notification_steps import loopback_channel
from tests.web.releases import served_releases, served_stack

TEAM = "acme"
VICTIM = "vic@example.com"
APPS = {"shop": "shopfront", "blog": "blogroll"}  # project -> its app
RANK = {None: 0, "viewer": 1, "developer": 2, "admin": 3, "owner": 4}


@dataclass(frozen=True)
class Caller:
    """Who calls: their role in acme's team (None: not a member; "guest": a member that holds
    only their project roles), their roles in acme's projects, and how they call."""

    label: str
    how: str  # "session" or "token"
    team_role: str | None = None
    project_roles: dict[str, str] = field(default_factory=dict)
    other_team: bool = False  # owns another team instead
    limited_to: str | None = None  # a token limited to this project of acme

    @property
    def person(self) -> str:
        """Who it is, whichever way they call (one person, one session, one token)."""
        return self.label.removesuffix(f" ({self.how})").replace("'s token limited to shop", "")

    def role_in(self, team: str, project: str | None) -> str | None:
        """The role the caller holds where a route acts: (acme, a project), acme's team
        itself (project None), or the instance's default team (nobody here is in it)."""
        if team != TEAM or (self.limited_to is not None and project != self.limited_to):
            return None
        base = None if self.team_role in (None, "guest") else self.team_role
        if project is None:
            return base
        role = self.project_roles.get(project, base)
        return None if role == "none" else role


def callers() -> list[Caller]:
    found: list[Caller] = []
    for how in ("session", "token"):
        for role in ("owner", "admin", "developer", "viewer"):
            found.append(Caller(f"team {role} ({how})", how, team_role=role))
        found.append(Caller(f"member of another team ({how})", how, other_team=True))
        for role in ("admin", "developer", "viewer"):
            roles = {"shop": role}
            found.append(Caller(f"project {role} of shop ({how})", how, "guest", roles))
        found.append(
            Caller(f"member of another project ({how})", how, "guest", {"cafe": "developer"})
        )
        found += [
            Caller(f"developer kept out of shop ({how})", how, "developer", {"shop": "none"}),
            Caller(f"developer made viewer in shop ({how})", how, "developer", {"shop": "viewer"}),
            Caller(f"viewer made developer in shop ({how})", how, "viewer", {"shop": "developer"}),
        ]
    found.append(
        Caller("team developer's token limited to shop", "token", "developer", limited_to="shop")
    )
    return found


def twin_of(caller: Caller, role: str) -> str:
    """The team-scope caller holding `role` in acme's team, calling as `caller` does: what a
    project role of that name must behave like."""
    return f"team {role} ({caller.how})"


class World:
    """What the callers' requests name, and what must not leak to those who may not read it."""

    def __init__(self) -> None:
        self.app_ids: dict[str, str] = {}  # project -> its app's id
        self.deployments: dict[str, list[str]] = {}  # project -> its app's deployments
        # project -> its database's id, a backup of it and a restore of that backup
        self.databases: dict[str, tuple[str, str, str]] = {}
        self.stacks: dict[str, tuple[str, str]] = {}  # project -> its stack, a served release
        self.runs: dict[str, str] = {}  # project -> a run of its app's job
        self.invitation = ""
        self.headers: dict[str, dict[str, str]] = {}  # caller label -> what it sends

    def markers(self, team: str, project: str | None) -> list[str]:
        """Strings only what belongs to (team, project) contains."""
        if team != TEAM:
            return []
        if project is None:
            return [VICTIM]
        database = [f"{project}db", *self.databases[project]] if self.databases else []
        stack = list(self.stacks.get(project, ()))
        runs = [self.runs[project]] if project in self.runs else []
        return [
            *runs,
            APPS[project],
            self.app_ids[project],
            *self.deployments[project],
            *database,
            *stack,
        ]


async def append(services: Any, stream: str, events: list[Any], **meta: str) -> None:
    recorded = await services.store.append(stream, None, events, EventMeta(actor="test", **meta))
    await services.runner.wait_until(recorded[-1].position)


async def user(services: Any, email: str) -> str:
    created = UserCreated(user_id=email, email=email, password_hash="$argon2id$unused")
    await append(services, f"user-{email}", [created])
    return email


async def session(services: Any, email: str, name: str) -> str:
    secret = SESSION_PREFIX + f"{name}-secret"
    now = datetime.now(UTC)
    started = SessionStarted(
        user_id=email,
        session_id=name,
        secret_hash=hash_secret(secret),
        at=now.isoformat(),
        expires_at=(now + timedelta(days=7)).isoformat(),
    )
    await append(services, f"user-{email}", [started])
    return secret


async def token(services: Any, name: str, owner: str, team: str, project: str | None) -> str:
    secret = TOKEN_PREFIX + f"{name}-secret"
    created = TokenCreated(
        token_id=name,
        name=name,
        secret_hash=hash_secret(secret),
        scope="admin",
        owner=owner,
        team=team,
        project=project,
    )
    await append(services, f"token-{name}", [created])
    return secret


async def releases(services: Any, project: str) -> list[str]:
    """Two releases of the project's app that served traffic, the second live; their logs."""
    name = APPS[project]
    made = (f"{project}-release-0", f"{project}-release-1")
    await served_releases(services, name, made, TEAM)
    for d in made:
        services.logs.append(name, d, "build", f"building {name}")
    return list(made)


async def jobs(services: Any, app: str, stack_id: str) -> str:
    """A job of the app and one of the stack's service; the id of a run of the app's."""
    nightly = {"name": "nightly", "command": "true", "schedule": "0 3 * * *"}
    await services.jobs.create(SYSTEM, CreateJob(app=app, **nightly))
    await services.jobs.create(SYSTEM, CreateJob(stack_id=stack_id, service="web", **nightly))
    run = await services.jobs.run_now(SYSTEM, RunJob(app=app, job="nightly"))
    return str(run.run_id)


async def build(services: Any, everyone: list[Caller]) -> World:
    world = World()
    founder = await user(services, "founder@acme.test")
    await services.teams.create(SYSTEM, TEAM, "Acme", owner=founder)
    await services.teams.create(SYSTEM, "other", "Other", owner=await user(services, "o@x.test"))
    for project in ("shop", "blog", "cafe"):
        await services.projects.run(SYSTEM, CreateProject(team=TEAM, project=project))
    for project, name in APPS.items():
        git = f"https://git.example.com/{name}.git"
        created = CreateApp(name=name, team=TEAM, project=project, git_url=git)
        await services.apps.handle(SYSTEM, created)
        world.app_ids[project] = (await services.lookup.by_name(name)).app_id
        world.deployments[project] = await releases(services, project)
        world.databases[project] = await database_with_backup(
            services, TEAM, project, f"{project}db"
        )
        world.stacks[project] = await served_stack(
            services, TEAM, project=project, release_id=f"{project}releaseaaaa"[:12]
        )
        world.runs[project] = await jobs(services, name, world.stacks[project][0])
    await services.teams.add_member(SYSTEM, TEAM, await user(services, VICTIM), "viewer")
    await session(services, VICTIM, "vic-session")
    await token(services, "victim", VICTIM, TEAM, None)
    invited = await services.teams.invite(SYSTEM, TEAM, "x@example.com", "viewer")
    await loopback_channel(services, TEAM)
    world.invitation = invited.invitation_id
    people: dict[str, str] = {}
    for n, caller in enumerate(everyone):
        if caller.person not in people:
            people[caller.person] = await person(services, caller, f"caller{n}@example.com")
        email = people[caller.person]
        team = "other" if caller.other_team else TEAM
        if caller.how == "session":
            secret = await session(services, email, f"s{n}")
            headers = {"Cookie": f"rivetr_session={secret}", "X-CSRF-Token": csrf_token(secret)}
        else:
            secret = await token(services, f"t{n}", email, team, caller.limited_to)
            headers = {"Authorization": f"Bearer {secret}"}
        world.headers[caller.label] = headers
    return world


async def person(services: Any, caller: Caller, email: str) -> str:
    """The user behind a caller, with their roles."""
    await user(services, email)
    if caller.other_team:
        await services.teams.add_member(SYSTEM, "other", email, "admin")
        await services.teams.transfer(SYSTEM, "other", email)
    elif caller.team_role == "owner":
        await services.teams.add_member(SYSTEM, TEAM, email, "admin")
        await services.teams.transfer(SYSTEM, TEAM, email)
    else:
        await services.teams.add_member(SYSTEM, TEAM, email, caller.team_role)
    for project, role in caller.project_roles.items():
        await services.teams.set_project_role(SYSTEM, TEAM, email, project, role)
    return email


class ReachedTheLog(DomainError):
    title = "Reached the log"
    status = 418  # not an answer any route gives by itself


class FrozenStore:
    """The event store, but every append is refused (and noted): the world stays as made."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.attempts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def append_together(self, *_: Any, **__: Any) -> Any:
        self.attempts += 1
        raise ReachedTheLog("the world is frozen")

    async def append(self, *_: Any, **__: Any) -> Any:
        self.attempts += 1
        raise ReachedTheLog("the world is frozen")


async def streamed(app: Any, path: str, query: dict[str, str], headers: dict[str, str]) -> Any:
    """An event stream's answer up to its first keep-alive (it has sent what it had, and
    waits for more): then the client leaves. The test client would wait for its end."""
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": urlencode(query).encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"testserver")],
        "client": ("testclient", 50000),
        "server": ("testserver", 80),
    }
    answer: dict[str, Any] = {"status": 0, "body": bytearray()}
    caught_up = asyncio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await caught_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if chunk.startswith(b":") or not message.get("more_body"):
                caught_up.set()
            answer["body"].extend(chunk)

    await app(scope, receive, send)
    return answer["status"], answer["body"].decode(errors="replace")
