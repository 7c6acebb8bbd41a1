"""The Application aggregate: which events each command produces, and how they fold into state."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain import application
from rivetr.domain.application import AppState, decide, evolve, fold, initial_state
from rivetr.domain.commands import ChangeAppSettings, CreateApp, DeleteApp
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.events import (
    AppCreated,
    AppDeleted,
    AppEnvChanged,
    AppSettingsChanged,
    EngineLost,
    Event,
)
from rivetr.domain.git_credentials import git_auth
from rivetr.domain.settings import BuildSettings, BuildSettingsInput, HealthCheck, HealthCheckInput


def run(state: AppState, command: CreateApp | ChangeAppSettings | DeleteApp) -> AppState:
    """Decide, then fold the decision into the state, as the application service does."""
    for event in decide(state, command):
        state = evolve(state, event)
    return state


APP_ID = "k3j9x2m4q8w7"


def created(name: str = "web", **settings: object) -> AppState:
    return run(initial_state(APP_ID), msgspec.convert({"name": name, **settings}, CreateApp))


# --- creating ---------------------------------------------------------------------------------


def test_create_app_records_every_setting() -> None:
    command = CreateApp(
        name="web",
        git_url="https://example.com/web.git",
        branch="release",
        build=BuildSettingsInput(type="dockerfile", dockerfile="Dockerfile.prod"),
        port=3000,
        domains=["web.example.com"],
        health=HealthCheckInput(path="/healthz"),
        env={"MODE": "prod"},
    )

    [event] = decide(initial_state(APP_ID), command)

    assert event == AppCreated(
        app_id=APP_ID,
        name="web",
        git_url="https://example.com/web.git",
        branch="release",
        build=BuildSettings(type="dockerfile", dockerfile="Dockerfile.prod"),
        port=3000,
        domains=["web.example.com"],
        health=HealthCheck(path="/healthz"),
        env={"MODE": "prod"},
    )
    # events carry the tolerant types, never the strict input ones
    assert type(event.build) is BuildSettings
    assert type(event.health) is HealthCheck


def test_created_app_exists_with_its_settings() -> None:
    state = created(port=3000, domains=["web.example.com"], env={"A": "1"})

    assert state == AppState(
        app_id=APP_ID,
        name="web",
        exists=True,
        port=3000,
        domains=("web.example.com",),
        env={"A": "1"},
    )


def test_creating_an_app_twice_is_refused() -> None:
    with pytest.raises(AlreadyExists, match=f"{APP_ID} already exists"):
        decide(created(), CreateApp(name="web"))


def test_duplicate_domains_collapse_keeping_their_order() -> None:
    command = CreateApp(name="web", domains=["b.example.com", "a.example.com", "b.example.com"])

    [event] = decide(initial_state(APP_ID), command)

    assert isinstance(event, AppCreated)
    assert event.domains == ["b.example.com", "a.example.com"]


@pytest.mark.parametrize(
    ("domain", "valid"),
    [
        ("example.com", True),
        ("*.example.com", True),
        ("example.com/api", True),  # a path prefix: only the paths under /api
        ("example.com/api/v1", True),
        ("example.com/", False),
        ("example.com//api", False),
        ("example.com/a b", False),
        ("Example.com", False),
        ("/api", False),
    ],
)
def test_a_domain_is_a_host_name_with_an_optional_path_prefix(domain: str, valid: bool) -> None:
    raw = {"name": "web", "domains": [domain]}
    if valid:
        assert msgspec.convert(raw, CreateApp).domains == [domain]
    else:
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(raw, CreateApp)


def test_health_timeout_longer_than_the_boot_deadline_is_refused_on_create() -> None:
    command = CreateApp(name="web", health=HealthCheckInput(timeout_s=60, boot_deadline_s=30))

    with pytest.raises(InvalidCommand, match="timeout_s"):
        decide(initial_state(APP_ID), command)


# --- changing settings ------------------------------------------------------------------------


def test_changing_settings_records_only_what_actually_changed() -> None:
    state = created(port=8080, branch="main", domains=["a.example.com"])
    command = ChangeAppSettings(name="web", port=9000, branch="main", domains=["a.example.com"])

    assert decide(state, command) == [AppSettingsChanged(name="web", port=9000)]
    assert run(state, command).port == 9000


def test_changing_settings_to_their_current_values_records_nothing() -> None:
    state = created(port=3000, git_url="https://example.com/web.git", domains=["a.example.com"])
    command = ChangeAppSettings(
        name="web",
        port=3000,
        git_url="https://example.com/web.git",
        domains=["a.example.com", "a.example.com"],
        build=BuildSettingsInput(),
        health=HealthCheckInput(),
        env={"GONE": None},
    )

    assert decide(state, command) == []


def test_a_change_naming_no_setting_records_nothing() -> None:
    assert decide(created(), ChangeAppSettings(name="web")) == []


def test_git_url_can_be_cleared() -> None:
    state = created(git_url="https://example.com/web.git")

    assert run(state, ChangeAppSettings(name="web", git_url=None)).git_url is None


def test_changing_build_and_health_replaces_them_whole() -> None:
    state = created(build={"type": "static", "static_dir": "dist"})
    command = ChangeAppSettings(
        name="web",
        build=BuildSettingsInput(type="dockerfile"),
        health=HealthCheckInput(path="/up", interval_s=2),
    )

    after = run(state, command)

    assert after.build == BuildSettings(type="dockerfile")
    assert after.health == HealthCheck(path="/up", interval_s=2)


def test_env_is_set_and_unset_through_change_settings() -> None:
    state = created(env={"KEEP": "1", "CHANGE": "old", "DROP": "x"})
    command = ChangeAppSettings(
        name="web", env={"CHANGE": "new", "ADD": "2", "DROP": None, "NEVER_SET": None, "KEEP": "1"}
    )

    events = decide(state, command)

    assert events == [
        AppEnvChanged(name="web", set={"CHANGE": "new", "ADD": "2"}, unset=["DROP"]),
    ]
    assert run(state, command).env == {"KEEP": "1", "CHANGE": "new", "ADD": "2"}


def test_settings_and_env_changed_together_give_one_event_each() -> None:
    events = decide(created(), ChangeAppSettings(name="web", port=1234, env={"A": "1"}))

    assert [type(e) for e in events] == [AppSettingsChanged, AppEnvChanged]


def test_health_timeout_longer_than_the_boot_deadline_is_refused_on_change() -> None:
    command = ChangeAppSettings(
        name="web", health=HealthCheckInput(timeout_s=31, boot_deadline_s=30)
    )

    with pytest.raises(InvalidCommand, match="boot_deadline_s"):
        decide(created(), command)


def test_changing_a_missing_app_is_refused() -> None:
    with pytest.raises(NotFound, match=APP_ID):
        decide(initial_state(APP_ID), ChangeAppSettings(name="web", port=1))


# --- deleting ---------------------------------------------------------------------------------


def test_deleting_an_app_forgets_its_settings() -> None:
    state = created(port=3000, env={"A": "1"})

    assert decide(state, DeleteApp(name="web")) == [AppDeleted(name="web")]
    assert run(state, DeleteApp(name="web")) == initial_state(APP_ID, "web")


def test_deleting_a_missing_app_is_refused() -> None:
    with pytest.raises(NotFound):
        decide(initial_state(APP_ID), DeleteApp(name="web"))


def test_a_deleted_app_can_be_deleted_only_once() -> None:
    deleted = run(created(), DeleteApp(name="web"))

    with pytest.raises(NotFound):
        decide(deleted, DeleteApp(name="web"))


def test_fold_takes_one_app_out_of_a_stream_apps_of_an_older_log_shared() -> None:
    # before ids, a name's stream held each app of that name in turn
    shared: list[Event] = [
        AppCreated(app_id="shop.82", name="shop", team="acme", env={"STRIPE": "acme"}),
        AppEnvChanged(name="shop", set={"MORE": "1"}),
        AppDeleted(name="shop"),
        AppCreated(app_id="shop.94", name="shop", team="globex"),
        AppSettingsChanged(name="shop", port=4000),
    ]

    first, second = fold("shop.82", shared), fold("shop.94", shared)

    assert first == initial_state("shop.82", "shop")  # deleted
    assert second == AppState(app_id="shop.94", name="shop", exists=True, team="globex", port=4000)
    assert application.stream_id("shop.82") == application.stream_id("shop.94") == "app-shop"


# --- folding ----------------------------------------------------------------------------------


def test_fold_replays_a_history() -> None:
    history: list[Event] = [
        AppCreated(app_id=APP_ID, name="web", port=3000, env={"A": "1"}),
        AppSettingsChanged(name="web", domains=["a.example.com"]),
        AppEnvChanged(name="web", set={"B": "2"}, unset=["A"]),
    ]

    assert fold(APP_ID, history) == AppState(
        app_id=APP_ID,
        name="web",
        exists=True,
        port=3000,
        domains=("a.example.com",),
        env={"B": "2"},
    )


def test_events_of_other_aggregates_leave_the_state_unchanged() -> None:
    state = created()

    assert evolve(state, EngineLost(reason="gone")) is state


def test_an_app_lives_in_its_own_stream_named_by_its_id() -> None:
    assert application.stream_id(APP_ID) == f"app-{APP_ID}"


# --- the wire: commands are strict, events tolerant -------------------------------------------


def test_commands_refuse_unknown_fields() -> None:
    with pytest.raises(msgspec.ValidationError, match="bogus"):
        msgspec.json.decode(b'{"name":"a","bogus":1}', type=CreateApp)


def test_commands_refuse_unknown_fields_in_nested_settings() -> None:
    with pytest.raises(msgspec.ValidationError, match="dockerfil"):
        msgspec.json.decode(b'{"name":"a","build":{"dockerfil":"x"}}', type=ChangeAppSettings)


def test_events_tolerate_unknown_fields() -> None:
    data = (
        b'{"type":"app.created","app_id":"k3j9x2m4q8w7","name":"a","added_later":true,'
        b'"health":{"new":1}}'
    )

    assert msgspec.json.decode(data, type=AppCreated) == AppCreated(app_id=APP_ID, name="a")


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "Web"},
        {"name": "-web"},
        {"name": "web-"},
        {"name": "web_app"},
        {"name": "a" * 64},
        {"name": "web", "port": 0},
        {"name": "web", "port": 65536},
        {"name": "web", "domains": ["Example.com"]},
        {"name": "web", "domains": ["exa mple.com"]},
        {"name": "web", "domains": ["-bad.example.com"]},
        {"name": "web", "domains": ["a..example.com"]},
        {"name": "web", "env": {"1ABC": "x"}},
        {"name": "web", "env": {"WITH-DASH": "x"}},
        {"name": "web", "env": {"": "x"}},
        {"name": "web", "branch": "has space"},
        {"name": "web", "health": {"path": "no-slash"}},
        {"name": "web", "health": {"timeout_s": 0}},
        {"name": "web", "build": {"type": "magic"}},
    ],
)
def test_create_app_rejects_invalid_values(body: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(body), type=CreateApp)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a"},
        {"name": "a" * 63},
        {"name": "my-app-2", "port": 1},
        {"name": "web", "port": 65535},
        {"name": "web", "domains": ["example.com", "*.apps.example.com", "localhost"]},
        {"name": "web", "env": {"_PRIVATE": "x", "Mixed_Case1": ""}},
        {"name": "web", "branch": "feature/new-thing"},
    ],
)
def test_create_app_accepts_valid_values(body: dict[str, object]) -> None:
    msgspec.json.decode(msgspec.json.encode(body), type=CreateApp)


KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


def replay(*commands: application.AppCommand) -> AppState:
    state = initial_state(APP_ID)
    for command in commands:
        for event in decide(state, command):
            state = evolve(state, event)
    return state


def test_git_credentials_are_their_own_event_and_unchanged_ones_append_nothing() -> None:
    events = decide(initial_state(APP_ID), CreateApp(name="web", git_token="ghp_1"))
    assert [type(e).__name__ for e in events] == ["AppCreated", "AppGitCredentialsChanged"]
    assert "ghp_1" not in msgspec.json.encode(events[0]).decode()  # settings stay secret-free

    state = replay(CreateApp(name="web", git_token="ghp_1"))
    assert decide(state, ChangeAppSettings(name="web", git_token="ghp_1")) == []
    assert [type(e).__name__ for e in decide(state, ChangeAppSettings(name="web", port=9000))] == [
        "AppSettingsChanged"
    ]
    assert git_auth(state.git_token, state.deploy_key) == ["token"]


def test_a_null_credential_removes_it_and_an_absent_one_keeps_it() -> None:
    state = replay(
        CreateApp(name="web", git_token="ghp_1"),
        ChangeAppSettings(name="web", deploy_key=KEY),
    )
    assert (state.git_token, state.deploy_key) == ("ghp_1", KEY)

    state = replay(
        CreateApp(name="web", git_token="ghp_1", deploy_key=KEY),
        ChangeAppSettings(name="web", git_token=None),
    )
    assert (state.git_token, state.deploy_key) == (None, KEY)


def test_a_deleted_app_created_again_starts_without_credentials() -> None:
    state = replay(
        CreateApp(name="web", git_token="ghp_1"), DeleteApp(name="web"), CreateApp(name="web")
    )
    assert (state.exists, state.git_token, state.deploy_key) == (True, None, None)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "web", "git_token": "has space"},
        {"name": "web", "git_token": ""},
        {"name": "web", "deploy_key": "ssh-ed25519 AAAA a public key"},
        {"name": "web", "deploy_key": "-----BEGIN PRIVATE KEY-----"},
    ],
)
def test_malformed_git_credentials_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(body), type=CreateApp)
