"""The role matrix: every route the OpenAPI schema lists by every caller (owner, admin,
developer, viewer and non-member; their role given on the team, or only as a project role;
with a session and with a token) by the app (or project) in the caller's project and in
another. See role_matrix_world.py for the world and the callers.

What is asserted, route by route, without a table of routes (a route added later is covered
as soon as the schema lists it; one whose parameters or body fields the generator cannot fill
fails with a message saying what to add):
- where the caller cannot read (no role in the project, a project role of `none`, a member of
  another project or team): a read is 404 for an app, a deployment or a database, its
  backups and restores (hidden, as another team's are) and 403 or 404 otherwise; a change
  is 403 or 404 and reaches no log;
- where the caller is a viewer: a read gets through; a change is 403 and reaches no log;
- where the caller holds a project role of developer or more: the answer is the one the team
  member of that role gets, calling the same way (a project role acts as that team role does);
- every read that gets through shows nothing of a place the caller cannot read (its apps'
  names and ids, its deployments; for the team itself, its members);
- a change only the instance's administrators make (what a team's stacks may ask of the host,
  the control plane's backups), and a read only they make (those backups), is 403 for every
  caller here, the team's owner too, and reaches no log.

The world is made once and never changes: commands reach the log through a store that
refuses every append (and notes it), so a change that gets through is told apart from one
refused without changing what the next case sees."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rivetr.config import Settings
from rivetr.web.app import create_app
from rivetr.web.openapi import EVENT_STREAM, document
from tests.web.notification_steps import CHANNEL
from tests.web.role_matrix_world import (
    TEAM,
    FrozenStore,
    World,
    build,
    callers,
    streamed,
    twin_of,
)

CALLERS = callers()
BY_LABEL = {c.label: c for c in CALLERS}
# Routes no role decides, each tested on its own: they act on the caller's own account or
# on no team, or are authorised by something other than a role.
NOT_BY_ROLE = {
    "POST /api/v1/auth/login": "a password opens a session (test_sign_in.py)",
    "POST /api/v1/auth/logout": "ends the session it is sent with (test_sessions.py)",
    "POST /api/v1/invitations/accept": "an invitation's one-time secret (test_teams.py)",
    "POST /webhooks/{provider}/{app}": "a delivery's signature (test_webhooks.py)",
    "POST /webhooks/stacks/{provider}/{stack_id}": "a delivery's signature"
    " (test_stack_webhooks.py)",
    "POST /api/v1/teams": "anyone founds a team of their own (test_authorization_table.py)",
    "POST /api/v1/account/totp": "one's own second factor (test_second_factor.py)",
    "POST /api/v1/account/totp/confirm": "one's own second factor (test_second_factor.py)",
    "POST /api/v1/account/totp/disable": "one's own second factor (test_second_factor.py)",
    "GET /metrics": "the metrics token, not a role (test_metrics.py)",
}
# Changes only the instance's administrators make, whatever a caller's role in the team: no
# caller here is one, so each is refused (403, saying so) and reaches no log.
INSTANCE_ADMINS_ONLY = {
    "PUT /api/v1/teams/{team}/stack-allowances",
    "GET /api/v1/control-plane/backups",
    "POST /api/v1/control-plane/backups",
    "GET /api/v1/control-plane/schedules",
    "PUT /api/v1/control-plane/schedules",
    "GET /api/v1/servers",
    "POST /api/v1/servers/swarm",
    "POST /api/v1/servers/invitations",
    "POST /api/v1/servers/joins",
    "GET /api/v1/servers/{server}",
    "PATCH /api/v1/servers/{server}",
    "DELETE /api/v1/servers/{server}",
    "PUT /api/v1/servers/swarm/registry",
    "DELETE /api/v1/servers/swarm/registry",
    "POST /api/v1/servers/swarm/registry/hosted",
    "DELETE /api/v1/servers/swarm/registry/hosted",
    "PUT /api/v1/servers/swarm/build-node",
    "DELETE /api/v1/servers/swarm/build-node",
}
# What a route's parameters and body fields are filled with; a place's are the placement's.
APP_PARAMS = {"name", "app", "deployment_id", "job", "run_id"}  # a job is its app's or stack's
# a database, its backups and restores: in a project, and hidden from who may not read it
DATABASE_PARAMS = {"database_id", "backup_id", "restore_id"}
# a stack, its releases and services: the same
STACK_PARAMS = {"stack_id", "release_id", "service"}
CATALOGUE_PARAMS = {"slug"}  # a template: the instance's, read by anyone; deployed in a project
PROJECT_PARAMS = {"project", "environment"}
TEAM_PARAMS = {"team", "invitation_id", "token_id", "target", "channel"}
INSTANCE_PARAMS = {"session_id", "user_id", "server"}  # without {team}: the instance's accounts
FIELDS: dict[str, object] = {
    "name": "newapp",
    "role": "developer",
    "email": "new@example.com",
    "to_user": "vic@example.com",
    "certificate": "not PEM",
    "private_key": "not PEM",
    "code": "000000",
    "commit": "ab" * 20,
    "to_environment": "qa",
    "kind": "postgres",
    "version": "17",
    "variables": {"GREETING": "hello"},
    "command": "true",
    "schedule": "@daily",
}
# whole bodies of routes whose fields mean something else there than in FIELDS
BODIES: dict[str, dict[str, object]] = {
    "POST /api/v1/servers/swarm": {"advertise_addr": "10.0.0.1"},
    "PUT /api/v1/servers/swarm/registry": {"address": "registry.example.com"},
    "PUT /api/v1/servers/swarm/build-node": {
        "engine": "tcp://10.0.0.5:2376",
        "ca": "pem",
        "cert": "pem",
        "key": "pem",
    },
    "POST /api/v1/servers/joins": {
        "engine": "tcp://10.0.0.5:2376",
        "ca": "pem",
        "cert": "pem",
        "key": "pem",
    },
    "PUT /api/v1/teams/{team}/notification-channels/{channel}": {
        "kind": "slack",
        "url": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7",
        "on": ["deployment.failed"],
    },
}
# optional fields the matrix sets all the same, so that an allowed call can get through (a
# clone into an environment that does not exist yet makes it)
OPTIONS: dict[str, object] = {
    "create_environment": True,
    "compose": "services: {web: {image: nginx}}",  # a stack's one source, inline
}
QUERY = {"time": lambda: datetime.now(UTC).isoformat(), "after": lambda: "0"}
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


class CannotCall(Exception):
    """The generator does not know how to call a route: its message says what to add."""


def operations() -> dict[str, dict[str, Any]]:
    app = create_app(Settings(data_dir="unused", engine="none", proxy_enabled=False))
    schema = document(app)
    found = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method.upper() in CHANGES | {"GET"}:
                found[f"{method.upper()} {path}"] = {**operation, "components": schema}
    return dict(sorted(found.items()))


OPERATIONS = operations()
MATRIX = [op for op in OPERATIONS if op not in NOT_BY_ROLE]


def params_of(path: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", path))


def body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = operation["components"]["components"]["schemas"][name]
    return schema


def place_of(op: str) -> str:
    """Where the route acts: "app", "project" (acme's project of the placement), "team"
    (acme itself), "instance" (the default team's accounts) or "listing" (no one place:
    what it lists is filtered)."""
    path = op.split(" ", 1)[1]
    params = params_of(path)
    body = body_schema(OPERATIONS[op]) or {}
    if params & (APP_PARAMS | DATABASE_PARAMS | STACK_PARAMS):
        return "app"
    params -= CATALOGUE_PARAMS
    if params & PROJECT_PARAMS and "user_id" not in params:
        return "project"
    if params & TEAM_PARAMS:
        return "team"
    if params & INSTANCE_PARAMS:
        return "instance"
    if params:
        raise CannotCall(f"{op}: no rule for the parameters {sorted(params)}: add them here")
    if "project" in body.get("properties", {}):
        return "project"
    if "team" in body.get("properties", {}):
        return "team"
    return "listing"


def placements(op: str) -> list[str]:
    return ["shop", "blog"] if place_of(op) in ("app", "project") else ["shop"]


def request_of(op: str, project: str, world: World) -> tuple[str, str, dict[str, Any]]:
    """The method, URL and request options that call `op` on the placement `project`."""
    method, path = op.split(" ", 1)
    operation = OPERATIONS[op]
    values = {
        "name": (app := {"shop": "shopfront", "blog": "blogroll"}[project]),
        "app": app,
        "deployment_id": world.deployments[project][-1],
        "project": project,
        "environment": "production",
        "team": TEAM,
        "invitation_id": world.invitation,
        "token_id": "victim",
        "user_id": "vic@example.com",
        "session_id": "vic-session",
        "server": "vps-2",
        "domain": "elsewhere.example.com",  # not the app's: refused before any CA is asked
        "pr": "1",
        "target": "local",
        "channel": CHANNEL,
        **dict(
            zip(("database_id", "backup_id", "restore_id"), world.databases[project], strict=True)
        ),
        "stack_id": world.stacks[project][0],
        "release_id": world.stacks[project][1],
        "service": "web",
        "slug": "adminer",
        "job": "nightly",
        "run_id": world.runs[project],
    }
    for param in params_of(path):
        if param not in values:
            raise CannotCall(f"{op}: the matrix cannot fill {{{param}}}: add it to request_of")
        path = path.replace(f"{{{param}}}", str(values[param]))
    query = {}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if parameter["in"] == "query" and (parameter.get("required") or name in QUERY):
            if name not in QUERY:
                raise CannotCall(f"{op}: the matrix cannot fill query {name!r}: add it to QUERY")
            query[name] = QUERY[name]()
    options: dict[str, Any] = {"params": query}
    schema = body_schema(operation)
    if op in BODIES:
        options["json"] = BODIES[op]
    elif schema is not None:
        body: dict[str, object] = {}
        places = {"team": TEAM, "project": project, "environment": "production"}
        for name in schema.get("properties", {}):
            if name in places:
                body[name] = places[name]
            elif name in OPTIONS:
                body[name] = OPTIONS[name]
            elif name == "to":  # a rollback's: the stack's release that served
                body[name] = world.stacks[project][1]
            elif name in schema.get("required", []):
                if name not in FIELDS:
                    raise CannotCall(f"{op}: the matrix cannot fill field {name!r}: add to FIELDS")
                body[name] = FIELDS[name]
        options["json"] = body
    return method, path, options


@pytest.fixture(scope="module")
def matrix_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, World, Any]]:
    data = Path(tmp_path_factory.mktemp("matrix")) / "data"
    settings = Settings(
        data_dir=str(data), engine="none", proxy_enabled=False, sse_heartbeat_s=0.05
    )
    with TestClient(create_app(settings)) as client:
        services = client.app.state.services
        world = client.blocking_portal.call(build, services, CALLERS)
        handler = services.teams.handler
        frozen = FrozenStore(handler.store)
        handler.store = frozen
        yield client, world, frozen


def call(client: Any, frozen: FrozenStore, op: str, request: Any, headers: dict[str, str]) -> Any:
    """(status, text, whether it reached the log)."""
    method, path, options = request
    before = frozen.attempts
    client.cookies.clear()
    responses = OPERATIONS[op].get("responses", {})
    if any(EVENT_STREAM in r.get("content", {}) for r in responses.values()):
        status, text = client.blocking_portal.call(
            streamed, client.app, path, options["params"], headers
        )
    else:
        response = client.request(method, path, headers=headers, **options)
        status, text = response.status_code, response.text
    return status, text, frozen.attempts > before


def kind(status: int) -> str:
    return {401: "unauthenticated", 403: "refused", 404: "hidden"}.get(status, "through")


def judge(op: str, label: str, project: str, outcomes: dict[Any, Any], world: World) -> str:
    """What is wrong with the answer `label` got for `op` on `project` ("" when nothing)."""
    caller, (status, text, reached) = BY_LABEL[label], outcomes[label, project]
    method = op.split(" ", 1)[0]
    place = place_of(op)
    said = f"{op} on {project} by {label}: {status}{' (reached the log)' if reached else ''}"
    if op in INSTANCE_ADMINS_ONLY:
        if reached or status != 403 or "instance admin" not in text:
            return f"{said}, but only an instance admin makes it: 403 saying so"
        return ""
    if place == "listing" and method in CHANGES:
        raise CannotCall(f"{op}: a change that names no team or project: add a rule")
    if place == "listing":
        role: str | None = "viewer" if status == 200 else None
        if status not in (200, 403):
            return f"{said}, a listing answers 200 (or 403 to one who reads nowhere)"
    else:
        team, where = {
            "app": (TEAM, project),
            "project": (TEAM, project),
            "team": (TEAM, None),
        }.get(place, ("default", None))
        role = caller.role_in(team, where)
    if role is None and place != "listing":
        hidden_read = place == "app" and method not in CHANGES
        if reached or status not in ({404} if hidden_read else {403, 404}):
            return f"{said}, but it has no role there: " + ("404" if hidden_read else "403/404")
    elif role == "viewer" and method in CHANGES:
        if reached or status != 403:
            return f"{said}, but a viewer changes nothing: 403"
    elif method not in CHANGES and kind(status) != "through":
        return f"{said}, but it reads there as a {role}"
    elif method in CHANGES:
        twin = twin_of(caller, role)
        if twin == label or twin not in BY_LABEL:
            if kind(status) in ("unauthenticated", "hidden"):
                return f"{said}, but it is a {role} there"
        else:
            expected, _, twin_reached = outcomes[twin, project]
            if (kind(status), reached) != (kind(expected), twin_reached):
                return f"{said}, but {twin} (a {role} of the team) got {expected}"
    if status < 300:
        for team, where in ((TEAM, None), (TEAM, "shop"), (TEAM, "blog")):
            if caller.role_in(team, where) is None:
                leaked = [m for m in world.markers(team, where) if m in text]
                if leaked:
                    return f"{said}, showing {leaked} of {where or 'the team'}, not its to read"
    return ""


def matrix_size() -> int:
    return sum(len(placements(op)) * len(CALLERS) for op in MATRIX)


def test_the_generator_can_call_every_route_the_schema_lists() -> None:
    """A route added to the API is in the matrix at once; one whose parameters or body the
    generator cannot fill is named here, with what to add."""
    world = World()
    world.deployments = {"shop": ["d1"], "blog": ["d2"]}
    world.databases = {p: ("a" * 12, "b" * 12, "c" * 12) for p in ("shop", "blog")}
    world.stacks = {p: ("d" * 12, "e" * 12) for p in ("shop", "blog")}
    world.runs = {p: "f" * 12 for p in ("shop", "blog")}
    problems = []
    for op in MATRIX:
        try:
            for project in placements(op):
                request_of(op, project, world)
        except CannotCall as exc:
            problems.append(str(exc))
    assert problems == []
    print(f"\nrole matrix: {len(MATRIX)} routes x {len(CALLERS)} callers = {matrix_size()} cases")


@pytest.mark.parametrize("op", MATRIX)
def test_no_one_reads_or_changes_outside_their_grant(matrix_world: Any, op: str) -> None:
    client, world, frozen = matrix_world
    outcomes = {}
    for project in placements(op):
        request = request_of(op, project, world)
        for caller in CALLERS:
            headers = world.headers[caller.label]
            outcomes[caller.label, project] = call(client, frozen, op, request, headers)
    failures = [
        wrong
        for label, project in outcomes
        if (wrong := judge(op, label, project, outcomes, world))
    ]
    assert failures == [], "\n".join(failures)
