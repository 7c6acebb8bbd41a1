"""The instance's settings changed while it runs: only those that take effect without a
restart, never one an environment variable pins, only well-formed values, and nothing
recorded when nothing changes; the log's history folds back to the values it sets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain import instance
from rivetr.domain.commands import ChangeInstanceSettings
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.events import InstanceSettingsChanged

URL = "https://deploy.example.com"


def change(value: str | None, **pinned: str) -> ChangeInstanceSettings:
    return ChangeInstanceSettings(changes={"public_url": value}, pinned=pinned)


def test_a_new_public_url_is_one_event_and_the_fold_holds_it() -> None:
    events = instance.decide(instance.InstanceSettingsState(), change(URL))
    assert events == [InstanceSettingsChanged(changes={"public_url": URL})]
    assert instance.fold("", events).values == {"public_url": URL}


def test_nothing_is_recorded_when_nothing_changes() -> None:
    state = instance.fold("", [InstanceSettingsChanged(changes={"public_url": URL})])
    assert instance.decide(state, change(URL)) == []
    assert instance.decide(instance.InstanceSettingsState(), change(None)) == []


def test_none_gives_the_setting_back_to_the_config_file() -> None:
    state = instance.fold("", [InstanceSettingsChanged(changes={"public_url": URL})])
    events = instance.decide(state, change(None))
    assert (
        instance.fold("", [InstanceSettingsChanged(changes={"public_url": URL}), *events]).values
        == {}
    )


def test_a_setting_read_at_start_is_refused_naming_it() -> None:
    with pytest.raises(InvalidCommand, match="restart") as refused:
        instance.decide(
            instance.InstanceSettingsState(), ChangeInstanceSettings(changes={"drain_s": "5"})
        )
    assert refused.value.field == "drain_s"


def test_a_setting_pinned_by_an_environment_variable_is_refused() -> None:
    pinned = change(URL, public_url="environment variable RIVETR_PUBLIC_URL")
    with pytest.raises(InvalidCommand, match="RIVETR_PUBLIC_URL") as refused:
        instance.decide(instance.InstanceSettingsState(), pinned)
    assert refused.value.field == "public_url"


@pytest.mark.parametrize(
    "bad", ["deploy.example.com", "ftp://x", "https://a b", "https://u@host", "https://h/?q=1"]
)
def test_a_malformed_public_url_is_refused(bad: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        instance.decide(instance.InstanceSettingsState(), change(bad))
    assert refused.value.field == "public_url"


@given(st.lists(st.sampled_from([URL, "http://10.0.0.1:8080", None]), max_size=8))
def test_the_fold_holds_the_last_value_each_decision_set(values: list[str | None]) -> None:
    state = instance.InstanceSettingsState()
    history = []
    for value in values:
        events = instance.decide(state, change(value))
        history += events
        for event in events:
            state = instance.evolve(state, event)
    last = values[-1] if values else None
    assert instance.fold("", history).values == ({} if last is None else {"public_url": last})
