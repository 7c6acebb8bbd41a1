"""A refused form's problems land on the field at fault, or on the form when none is named."""

from __future__ import annotations

import msgspec
import pytest

from rivetr.domain.commands import CreateApp
from rivetr.domain.errors import AlreadyExists, InvalidCommand
from rivetr.web.pages.forms import problems_of, status_of


def test_a_msgspec_refusal_names_its_field() -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert({"name": "web", "port": 0}, CreateApp)
    problems = problems_of(refused.value)
    assert list(problems) == ["port"]
    assert ">= 1" in problems["port"]
    assert status_of(refused.value) == 422


def test_a_field_may_be_renamed_for_the_form() -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert({"name": "web", "health": {"path": 3}}, CreateApp)
    assert list(problems_of(refused.value, {"health": "health_path"})) == ["health_path"]


def test_a_domain_refusal_lands_on_the_field_it_names() -> None:
    refused = InvalidCommand("the image listens on 8080; the app is set to 3000", field="port")
    assert problems_of(refused) == {"port": str(refused)}
    assert status_of(refused) == 422


def test_a_refusal_naming_no_field_is_the_forms() -> None:
    refused = AlreadyExists("an application named 'web' already exists")
    assert problems_of(refused) == {"": "an application named 'web' already exists"}
    assert status_of(refused) == 409


def test_a_nested_field_lands_on_the_input_named_by_its_path() -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.convert({"name": "web", "health": {"timeout_s": 0}}, CreateApp)
    assert list(problems_of(refused.value)) == ["health_timeout_s"]
