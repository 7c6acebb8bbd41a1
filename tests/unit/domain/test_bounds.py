"""What may reach the log is bounded: every pattern matches the whole value (no trailing
newline slips past `$`), every whole number an event carries fits what SQLite holds, and the
codec refuses an event that would not read back."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain import codec, commands, settings
from rivetr.domain.codec import InvalidEvent
from rivetr.domain.commands import CreateApp, CreateTeam, CreateUser, InviteMember
from rivetr.domain.events import EVENT_TYPES, AppCreated, HealthProbed, WebhookReceived

SQLITE_MAX = 2**63 - 1


def constrained(tp: Any) -> Iterator[msgspec.Meta]:
    """Every msgspec.Meta inside a type, however deeply it is nested."""
    if typing.get_origin(tp) is Annotated:
        for meta in tp.__metadata__:
            if isinstance(meta, msgspec.Meta):
                yield meta
    for arg in typing.get_args(tp):
        yield from constrained(arg)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        for hint in typing.get_type_hints(tp, include_extras=True).values():
            yield from constrained(hint)


def struct_types() -> list[type[msgspec.Struct]]:
    found = [*EVENT_TYPES.values()]
    for module in (commands, settings):
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, msgspec.Struct)
        ]
    return found


def test_every_pattern_of_the_domain_matches_the_whole_value() -> None:
    patterns = {meta.pattern for tp in struct_types() for meta in constrained(tp) if meta.pattern}
    assert len(patterns) >= 9
    for pattern in patterns:
        assert pattern.startswith("^(?:"), pattern
        assert pattern.endswith(r")$(?!\n)"), pattern


def test_every_whole_number_an_event_carries_is_bounded_within_sqlite() -> None:
    for event_type in EVENT_TYPES.values():
        for name, hint in typing.get_type_hints(event_type, include_extras=True).items():
            if int not in _leaves(hint):
                continue
            bounds = [(m.ge, m.le) for m in constrained(hint) if m.ge is not None]
            assert bounds, f"{event_type.__name__}.{name} is an unbounded int"
            for low, high in bounds:
                assert low >= -(2**63)
                assert high is not None
                assert high <= SQLITE_MAX


def _leaves(tp: Any) -> set[Any]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) is Annotated:
        return _leaves(args[0])
    if not args:
        return {tp}
    return set().union(*(_leaves(a) for a in args))


VALID = [
    (settings.AppName, "web"),
    (settings.Domain, "shop.example.com/api"),
    (settings.EnvName, "DATABASE_URL"),
    (settings.Branch, "feature/x"),
    (settings.HttpPath, "/up"),
    (settings.WatchPath, "src/**"),
    (settings.GitToken, "ghp_abc"),
    (commands.TeamSlug, "acme"),
    (commands.Email, "ann@example.com"),
]


@pytest.mark.parametrize(("tp", "value"), VALID)
def test_a_valid_value_with_a_line_break_after_it_is_refused(tp: Any, value: str) -> None:
    assert msgspec.convert(value, tp) == value
    for tail in ("\n", "\r\n", "\nX"):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(value + tail, tp)


@given(st.text(min_size=1, max_size=40))
def test_an_app_name_passes_exactly_when_the_whole_of_it_is_a_dns_label(text: str) -> None:
    label = re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", text) is not None
    try:
        msgspec.convert(text, settings.AppName)
    except msgspec.ValidationError:
        assert not label
    else:
        assert label


def test_commands_from_the_api_refuse_what_the_attack_sent() -> None:
    cases: list[tuple[type[Any], dict[str, Any]]] = [
        (CreateApp, {"name": "web\n"}),
        (CreateApp, {"name": "web", "domains": ["a.example.com\n"]}),
        (CreateApp, {"name": "web", "env": {"KEY\n": "v"}}),
        (CreateApp, {"name": "web", "branch": "main\n"}),
        (CreateApp, {"name": "web", "health": {"path": "/up\n"}}),
        (CreateTeam, {"team": "acme\n", "name": "Acme", "owner": "ann@example.com"}),
        (CreateUser, {"email": "ann@example.com\n", "password_hash": "x"}),
    ]
    for command, body in cases:
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(body, command)
    invite = {
        "team": "acme",
        "invitation_id": "i",
        "email": "bob@example.com\n",
        "role": "viewer",
        "secret_hash": "h",
        "expires_at": "2030-01-01T00:00:00+00:00",
    }
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(invite, InviteMember)


@pytest.mark.parametrize(
    "event",
    [
        AppCreated(app_id="a1", name="web-pr-1", pr_number=2**63),
        AppCreated(app_id="a1", name="web-pr-0", pr_number=0),
        AppCreated(app_id="a1", name="web-pr--5", pr_number=-5),
        AppCreated(app_id="a1", name="web", port=70000),
        HealthProbed(deployment_id="d", attempt=-1, ok=False, duration_ms=1.0),
        WebhookReceived(
            app="web",
            provider="github",
            event="pull_request",
            delivery_id="d",
            signature="valid",
            decision="preview",
            reason="",
            pr_number=2**63,
        ),
    ],
)
def test_the_codec_refuses_an_event_that_would_not_read_back(event: Any) -> None:
    with pytest.raises(InvalidEvent, match="cannot be recorded"):
        codec.encode(event)


def test_an_event_within_its_bounds_encodes_as_before() -> None:
    tag, version, data = codec.encode(
        AppCreated(app_id="a1", name="web-pr-7", pr_number=7, port=3000)
    )
    assert (tag, version) == ("app.created", 3)
    assert codec.decode(tag, version, data) == AppCreated(
        app_id="a1", name="web-pr-7", pr_number=7, port=3000
    )
