"""`rivetr stacks` and `rivetr templates` on a data directory, as an operator scripts them:
each change asked for through the services (the steps a stack's deployer would record are
written by the test), `--json` the API's answer, a refusal said on stderr with exit status 1
(2 for input not written as expected), and `--wait` following a release until it ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run_cli
from tests.e2e.test_cli_databases import follow, nothing, on
from tests.web.stack_steps import failed_health, recorded, went_live

pytestmark = pytest.mark.e2e

COMPOSE = """services:
  web:
    image: nginx:1.27
    environment:
      DB_PASSWORD: ${DB_PASSWORD}
  db:
    image: postgres:16-alpine
"""
REFUSED = """services:
  web:
    image: nginx:1.27
    privileged: true
    network_mode: host
"""


def stacks(data: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli(data, "stacks", *args, env=env)


def made(tmp_path: Path, name: str = "blog", *args: str) -> tuple[Path, dict[str, Any]]:
    data = tmp_path / "data"
    if not data.exists():
        on(data, nothing)
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    answer = stacks(data, "create", name, "--compose-file", str(compose), *args, "--json")
    assert answer.returncode == 0, answer.stderr
    return data, json.loads(answer.stdout)


def test_a_stack_is_made_shown_its_variables_set_deployed_and_deleted(tmp_path) -> None:
    data, stack = made(tmp_path, "blog", "--route", "web 80 blog.example.com www.blog.example.com")
    assert (stack["name"], stack["inline"], stack["last_status"]) == ("blog", True, None)
    assert stack["routes"] == [
        {"service": "web", "port": 80, "domains": ["blog.example.com", "www.blog.example.com"]}
    ]
    listed = stacks(data, "list")
    assert listed.stdout.split("\t") == [
        stack["stack_id"],
        "blog",
        "default/default/production",
        "inline compose file",
        "never deployed\n",
    ]

    secret = {"DB_PASSWORD": "not-on-the-command-line"}
    changed = stacks(data, "env", "blog", "DB_PASSWORD", "DB_USER=blog", env=secret)
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.splitlines() == ["DB_PASSWORD", "DB_USER"]
    unset = stacks(data, "env", stack["stack_id"], "--unset", "DB_USER", "--json")
    assert json.loads(unset.stdout)["variables"] == ["DB_PASSWORD"]
    assert b"not-on-the-command-line" not in (data / "events.db").read_bytes()

    deployed = stacks(data, "deploy", "blog")
    assert deployed.returncode == 0, deployed.stderr
    release_id = deployed.stdout.strip()
    assert "the running service deploys it" in deployed.stderr
    shown = stacks(data, "show", "blog")
    assert shown.returncode == 0, shown.stderr
    assert "routes:     web:80 blog.example.com www.blog.example.com" in shown.stdout
    assert "variables:  DB_PASSWORD (values sealed, never shown)" in shown.stdout
    assert f"  {release_id}\trequested\tcli\t-\t" in shown.stdout
    detail = json.loads(stacks(data, "show", "blog", "--json").stdout)
    assert [r["release_id"] for r in detail["releases"]] == [release_id]
    waiting = stacks(data, "logs", "blog")
    assert (waiting.returncode, waiting.stdout) == (0, "")
    assert f"release {release_id} is requested: no log yet" in waiting.stderr

    gone = stacks(data, "delete", "blog")
    assert gone.returncode == 0, gone.stderr
    assert "its named volumes stay" in gone.stderr
    assert stacks(data, "list").stdout == ""


def test_what_is_refused_exits_non_zero_saying_why(tmp_path) -> None:
    data, stack = made(tmp_path)
    refused = tmp_path / "refused.yaml"
    refused.write_text(REFUSED)
    bad = stacks(data, "create", "host", "--compose-file", str(refused))
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[0] == "rivetr: compose file refused:"
    assert bad.stderr.splitlines()[1].startswith("  compose.yaml:4: services.web.privileged: ")
    assert bad.stderr.splitlines()[2].startswith("  compose.yaml:5: services.web.network_mode: ")
    assert "Traceback" not in bad.stderr

    compose = str(tmp_path / "compose.yaml")
    route = stacks(data, "create", "other", "--compose-file", compose, "--route", "web http")
    assert route.returncode == 2
    assert 'write it as "SERVICE PORT [DOMAIN ...]"' in route.stderr
    mixed = stacks(data, "create", "other", "--compose-file", compose, "--branch", "dev")
    assert mixed.returncode == 2
    assert "--branch and --compose-path go with --git-url" in mixed.stderr
    twice = stacks(data, "create", "blog", "--compose-file", compose)
    assert twice.returncode == 1
    missing = stacks(data, "create", "other", "--compose-file", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "--compose-file" in missing.stderr
    unknown = stacks(data, "show", "nope")
    assert unknown.returncode == 1
    assert "no stack named 'nope', and none with that id" in unknown.stderr
    back = stacks(data, "rollback", "blog", "--to", "aaaaaaaaaaaa")
    assert back.returncode == 1
    assert "has no release aaaaaaaaaaaa" in back.stderr
    typo = stacks(data, "rollback", "blog", "--to", "not-a-release")
    assert typo.returncode == 2

    assert run_cli(data, "projects", "env", "create", "default", "staging").returncode == 0
    staged = stacks(data, "create", "blog", "--compose-file", compose, "--environment", "staging")
    assert staged.returncode == 0, staged.stderr
    which = stacks(data, "deploy", "blog")
    assert which.returncode == 1
    assert "2 stacks are named 'blog'" in which.stderr
    git = ["--git-url", "https://git.example.com/me/wiki.git", "--compose-path", "deploy/c.yaml"]
    wiki = json.loads(stacks(data, "create", "wiki", *git, "--json").stdout)
    assert (wiki["git_url"], wiki["branch"], wiki["compose_path"], wiki["inline"]) == (
        "https://git.example.com/me/wiki.git",
        "main",
        "deploy/c.yaml",
        False,
    )
    named = stacks(data, "deploy", "blog", "--environment", "production", "--json")
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)["release"]["stack_id"] == stack["stack_id"]


def test_deploy_wait_prints_each_step_and_exits_by_how_the_release_ended(tmp_path) -> None:
    data, stack = made(tmp_path)

    live = follow(data, "stacks", "deploy", "blog", "--wait", "--timeout", "60")
    on(data, recorded, stack["stack_id"], live.id, went_live(live.id))
    assert live.ended() == 0, live.stderr
    steps = [line.split(" ", 1)[1] for line in live.stderr.splitlines() if line[:1].isdigit()]
    assert steps[0] == "release: requested (cli)"
    assert "web: ready" in steps
    assert steps[-1] == "release: every route switched to this release"
    assert live.stderr.splitlines()[-1] == f"release {live.id} is live"

    failing = follow(data, "stacks", "rollback", "blog", "--to", live.id, "--wait")
    on(data, recorded, stack["stack_id"], failing.id, failed_health(failing.id))
    assert failing.ended() == 1
    assert f"requested: roll back to release {live.id}" in failing.stderr
    assert failing.stderr.splitlines()[-1] == (
        f"rivetr: release {failing.id} failed (web): no answer on port 80 after 30 s"
    )
    releases = stacks(data, "releases", "blog")
    assert [line.split("\t")[:2] for line in releases.stdout.splitlines()] == [
        [failing.id, "failed"],
        [live.id, "live"],
    ]


def test_logs_prints_a_release_log_the_deployer_wrote(tmp_path) -> None:
    from rivetr.adapters.logs import LogStore, stack_folder

    data, stack = made(tmp_path)
    release_id = stacks(data, "deploy", "blog").stdout.strip()
    on(data, recorded, stack["stack_id"], release_id, failed_health(release_id))
    nothing_kept = stacks(data, "logs", "blog")
    assert nothing_kept.returncode == 1
    assert f"the log of release {release_id} is no longer kept" in nothing_kept.stderr

    LogStore(data / "logs").append(
        stack_folder(stack["stack_id"]), release_id, "rivetr", "failed at health: no answer\nbye"
    )
    printed = stacks(data, "logs", "blog", "--release", release_id, "-n", "1")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == "rivetr| bye\n"
    whole = json.loads(stacks(data, "logs", "blog", "--json").stdout)
    assert whole["lines"] == ["rivetr| failed at health: no answer", "rivetr| bye"]


def test_a_template_is_read_and_deployed_its_secrets_printed_once(tmp_path) -> None:
    data = tmp_path / "data"
    on(data, nothing)
    found = run_cli(data, "templates", "list", "--search", "feed", "--category", "productivity")
    rows = [line.split("\t") for line in found.stdout.splitlines()]
    assert [row[0] for row in rows] == ["freshrss", "miniflux"]
    assert {row[2] for row in rows} == {"productivity"}
    shown = run_cli(data, "templates", "show", "miniflux")
    assert "ADMIN_PASSWORD (password, 24, secret): Password of the admin user" in shown.stdout
    assert "image: miniflux/miniflux:" in shown.stdout
    assert run_cli(data, "templates", "show", "no-such-thing").returncode == 1

    no_domain = run_cli(data, "templates", "deploy", "miniflux")
    assert no_domain.returncode == 1
    assert "give one" in no_domain.stderr
    deployed = run_cli(
        data, "templates", "deploy", "miniflux", "--name", "feeds", "--domain", "rss.example.com"
    )
    assert deployed.returncode == 0, deployed.stderr
    generated = dict(line.split("=", 1) for line in deployed.stdout.splitlines())
    assert sorted(generated) == ["ADMIN_PASSWORD", "POSTGRES_PASSWORD"]
    assert "shown once: they are stored sealed" in deployed.stderr
    log = (data / "events.db").read_bytes()
    assert all(value.encode() not in log for value in generated.values())
    shown_stack = json.loads(stacks(data, "show", "feeds", "--json").stdout)
    assert shown_stack["stack"]["template"] == "miniflux"
    assert shown_stack["releases"][0]["trigger"] == "template"


def test_secrets_rotate_seals_a_stacks_variables_credentials_and_webhook_again(tmp_path) -> None:
    from rivetr.domain.access import SYSTEM
    from rivetr.domain.aggregates import STACKS
    from rivetr.domain.stack_commands import CreateStack
    from rivetr.service.commands.handler import folded
    from rivetr.service.commands.secrets import open_credentials
    from rivetr.service.commands.stacks import owner
    from rivetr.service.commands.webhook_targets import stack_webhook_context

    data = tmp_path / "data"
    made_ids: list[str] = []
    opened_values: list[tuple[Any, ...]] = []

    async def make(services: Any) -> None:
        command = CreateStack(
            name="blog",
            git_url="https://github.com/acme/blog.git",
            variables={"DB_PASSWORD": "hunter2", "MODE": "prod"},
            git_token="ghp_the-token",
        )
        stack_id, _ = await services.stacks.create(SYSTEM, command)
        await services.webhooks.enable_stack(SYSTEM, stack_id)
        made_ids.append(stack_id)

    async def open_all(services: Any) -> None:
        [stack_id] = made_ids
        state = await folded(services.store, STACKS.at(stack_id))
        box = services.secrets
        opened_values.append(
            (
                services.stacks.open(stack_id, state.variables),
                open_credentials(box, owner(stack_id), state.git_token, state.deploy_key),
                box.open(stack_webhook_context(stack_id), state.webhook_secret),
            )
        )

    on(data, make)
    on(data, open_all)

    rotated = run_cli(data, "secrets", "rotate")

    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.split()[2].rstrip(":")
    events = [json.loads(line) for line in run_cli(data, "events", "export").stdout.splitlines()]
    variables = [e["data"] for e in events if e["type"] == "stack.variables_changed"][-1]
    credentials = [e["data"] for e in events if e["type"] == "stack.git_credentials_changed"][-1]
    webhook = [e["data"] for e in events if e["type"] == "stack.webhook_secret_set"][-1]
    sealed = [*variables["variables"].values(), credentials["token"], webhook["secret"]]
    assert all(value.startswith(f"rvs2:{new_key}:") for value in sealed)
    assert (webhook["rotated"], webhook["resealed"]) == (False, True)  # the same secret
    on(data, open_all)
    assert opened_values[1] == opened_values[0]  # the same values, opened with the new key
    assert opened_values[1][0] == {"DB_PASSWORD": "hunter2", "MODE": "prod"}
    assert opened_values[1][1] == ("ghp_the-token", None)
