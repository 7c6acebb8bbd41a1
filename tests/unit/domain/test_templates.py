"""Templates' metadata, their variables' generators and the catalogue's search: pure logic, fed
bytes chosen by the test where randomness would be."""

from __future__ import annotations

import base64
import string
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.errors import InvalidCommand
from rivetr.domain.templates import (
    CATEGORIES,
    PASSWORD_ALPHABET,
    Template,
    TemplateValue,
    password,
    resolve_variables,
    search,
    template_from_metadata,
)

AMBIGUOUS = set("0Oo1lI")


def metadata(**overrides: object) -> dict[str, object]:
    return {
        "name": "Thing",
        "description": "Does a thing.",
        "category": "development",
        "docs": "https://thing.example/docs",
        "logo": "logo.svg",
        "tags": ["widgets"],
        "expose": {"service": "thing", "port": 8080},
        **overrides,
    }


def template_with(**variables: dict[str, object]) -> Template:
    return template_from_metadata("thing", metadata(variables=variables))


def source(data: bytes) -> Callable[[int], bytes]:
    """Random bytes as the test says: `data` in order, then zeros."""
    stream: Iterator[int] = iter(data)

    def take(count: int) -> bytes:
        return bytes(next(stream, 0) for _ in range(count))

    return take


def resolve(template: Template, given: dict[str, str] | None = None) -> dict[str, TemplateValue]:
    return resolve_variables(
        template,
        random_bytes=source(bytes(range(256)) * 4),
        domain="thing.example.com",
        admin_email="ada@example.com",
        given=given or {},
    )


# -- metadata


def test_metadata_is_read_into_a_template_named_by_its_directory() -> None:
    template = template_with(SECRET={"generate": "hex"})
    assert template.slug == "thing"
    assert template.expose.port == 8080
    assert template.variables["SECRET"].size == 32


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"colour": "red"}, "colour"),
        ({"category": "games"}, "category"),
        ({"expose": {"service": "thing", "port": 0}}, "port"),
        ({"expose": {"service": "thing", "port": 8080, "host": "x"}}, "host"),
        ({"docs": "http://insecure.example"}, "docs"),
        ({"logo": "../../etc/passwd"}, "logo"),
        ({"variables": {"lower": {"generate": "hex"}}}, "UPPER_SNAKE_CASE"),
        ({"variables": {"A": {"generate": "dice"}}}, "generate"),
        ({"variables": {"A": {"generate": "hex", "lenght": 3}}}, "lenght"),
        ({"variables": {"A": {"generate": "hex", "length": 4}}}, "length"),
        ({"variables": {"A": {"generate": "domain", "length": 20}}}, "length"),
        ({"variables": {"A": {"generate": "value"}}}, "value"),
        ({"variables": {"A": {"generate": "input", "value": "x"}}}, "value"),
    ],
)
def test_malformed_metadata_is_refused_naming_what_is_wrong(
    change: dict[str, object], named: str
) -> None:
    with pytest.raises(InvalidCommand, match=named):
        template_from_metadata("thing", metadata(**change))


def test_metadata_may_not_name_its_own_slug() -> None:
    with pytest.raises(InvalidCommand, match="slug"):
        template_from_metadata("thing", metadata(slug="other"))


def test_a_slug_is_lowercase_words_joined_by_hyphens() -> None:
    with pytest.raises(InvalidCommand, match="slug"):
        template_from_metadata("Bad_Slug", metadata())


# -- generators


@given(st.integers(min_value=12, max_value=128), st.binary(min_size=0, max_size=600))
def test_a_password_has_its_length_in_the_unambiguous_alphabet(length: int, data: bytes) -> None:
    made = password(length, source(data))
    assert len(made) == length
    assert set(made) <= set(PASSWORD_ALPHABET)


def test_the_password_alphabet_has_no_lookalikes_and_no_symbols() -> None:
    assert not AMBIGUOUS & set(PASSWORD_ALPHABET)
    assert set(PASSWORD_ALPHABET) <= set(string.ascii_letters + string.digits)
    assert len(set(PASSWORD_ALPHABET)) == len(PASSWORD_ALPHABET)


def test_every_password_symbol_is_reached_by_equally_many_accepted_bytes() -> None:
    # no modulo bias by construction: the bytes taken split evenly over the alphabet, and the
    # rest are drawn again (a byte is taken when what follows it does not matter)
    def first(data: bytes) -> str:
        return password(1, source(data))

    taken = [byte for byte in range(256) if first(bytes([byte, 1])) == first(bytes([byte, 2]))]
    made = Counter(first(bytes([byte])) for byte in taken)
    assert set(made) == set(PASSWORD_ALPHABET)
    assert len(set(made.values())) == 1
    assert len(taken) > 200


@given(st.lists(st.integers(min_value=0, max_value=255), min_size=1, max_size=300))
def test_bytes_beyond_the_last_whole_alphabet_are_skipped_not_folded(values: list[int]) -> None:
    size = len(PASSWORD_ALPHABET)
    limit = 256 - 256 % size
    accepted = [PASSWORD_ALPHABET[v % size] for v in values if v < limit]
    if not accepted:
        return
    made = password(len(accepted), source(bytes(values)))
    assert made == "".join(accepted)


@given(st.integers(min_value=16, max_value=128))
def test_hex_and_base64_secrets_hold_length_random_bytes(length: int) -> None:
    template = template_with(
        HEX={"generate": "hex", "length": length}, B64={"generate": "base64", "length": length}
    )
    values = resolve(template)
    assert len(bytes.fromhex(values["HEX"].value)) == length
    assert len(base64.b64decode(values["B64"].value, validate=True)) == length


def test_rivetr_fills_in_the_domain_its_url_and_the_admin_email() -> None:
    template = template_with(
        D={"generate": "domain"}, U={"generate": "url"}, E={"generate": "admin_email"}
    )
    assert {name: v.value for name, v in resolve(template).items()} == {
        "D": "thing.example.com",
        "U": "https://thing.example.com",
        "E": "ada@example.com",
    }


def test_random_values_are_secret_unless_the_template_says_otherwise() -> None:
    template = template_with(
        P={"generate": "password"},
        H={"generate": "hex"},
        B={"generate": "base64"},
        SHOWN={"generate": "hex", "secret": False},
        D={"generate": "domain"},
        V={"generate": "value", "value": "15d"},
        HIDDEN={"generate": "input", "secret": True},
        I={"generate": "input"},
    )
    secret = {name for name, v in resolve(template, {"HIDDEN": "x", "I": "y"}).items() if v.secret}
    assert secret == {"P", "H", "B", "HIDDEN"}


def test_a_value_variable_takes_its_default_and_a_given_value_wins() -> None:
    template = template_with(V={"generate": "value", "value": "15d"}, P={"generate": "password"})
    assert resolve(template)["V"].value == "15d"
    values = resolve(template, {"V": "30d", "P": "my-own-password"})
    assert (values["V"].value, values["P"].value) == ("30d", "my-own-password")


def test_an_input_is_taken_from_what_the_user_gave() -> None:
    template = template_with(CLIENT_ID={"generate": "input"})
    assert resolve(template, {"CLIENT_ID": "abc"})["CLIENT_ID"] == TemplateValue(
        value="abc", secret=False
    )


def test_a_missing_input_is_refused_naming_it() -> None:
    template = template_with(CLIENT_ID={"generate": "input", "description": "the client id"})
    with pytest.raises(InvalidCommand, match="CLIENT_ID must be given: the client id") as caught:
        resolve(template)
    assert caught.value.field == "CLIENT_ID"


def test_a_value_for_an_unknown_variable_is_refused_naming_it() -> None:
    with pytest.raises(InvalidCommand, match="no variable TYPO") as caught:
        resolve(template_with(P={"generate": "password"}), {"TYPO": "x"})
    assert caught.value.field == "TYPO"


@pytest.mark.parametrize("generate", ["domain", "url"])
def test_what_the_domain_decides_cannot_be_given(generate: str) -> None:
    with pytest.raises(InvalidCommand, match="set from the domain"):
        resolve(template_with(D={"generate": generate}), {"D": "elsewhere.example"})


def test_an_empty_given_value_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="P must not be empty"):
        resolve(template_with(P={"generate": "password"}), {"P": ""})


def test_the_domain_is_needed_when_a_variable_uses_it() -> None:
    template = template_with(U={"generate": "url"})
    with pytest.raises(InvalidCommand, match="needs the service's domain"):
        resolve_variables(
            template, random_bytes=source(b""), domain="", admin_email="a@b.c", given={}
        )


def test_two_passwords_of_one_template_come_from_successive_bytes() -> None:
    values = resolve(template_with(A={"generate": "password"}, B={"generate": "password"}))
    assert values["A"].value != values["B"].value


# -- search


def catalogue() -> list[Template]:
    def made(slug: str, name: str, category: str, description: str, tags: list[str]) -> Template:
        return template_from_metadata(
            slug, metadata(name=name, category=category, description=description, tags=tags)
        )

    return [
        made("umami", "Umami", "analytics", "Simple web analytics.", ["privacy"]),
        made("grafana", "Grafana", "monitoring", "Dashboards for metrics.", ["charts"]),
        made("plausible", "Plausible", "analytics", "Privacy-friendly analytics.", []),
        made("gitea", "Gitea", "development", "A Git forge.", ["git", "Code Review"]),
    ]


def names(templates: list[Template]) -> list[str]:
    return [template.name for template in templates]


def test_search_without_text_lists_all_by_name() -> None:
    assert names(search(catalogue())) == ["Gitea", "Grafana", "Plausible", "Umami"]


def test_search_matches_name_description_and_tags_in_any_case() -> None:
    assert names(search(catalogue(), "PRIVACY")) == ["Plausible", "Umami"]
    assert names(search(catalogue(), "code review")) == ["Gitea"]
    assert names(search(catalogue(), "grafana")) == ["Grafana"]


def test_search_needs_every_word() -> None:
    assert names(search(catalogue(), "analytics web")) == ["Umami"]
    assert search(catalogue(), "analytics git") == []


def test_search_within_a_category() -> None:
    assert names(search(catalogue(), category="analytics")) == ["Plausible", "Umami"]
    assert names(search(catalogue(), "simple", category="analytics")) == ["Umami"]


def test_search_in_an_unknown_category_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="no category 'games'") as caught:
        search(catalogue(), category="games")
    assert caught.value.field == "category"


@given(st.permutations(catalogue()), st.sampled_from(["", "a", "git", "privacy analytics"]))
def test_search_order_does_not_depend_on_the_order_given(
    templates: list[Template], text: str
) -> None:
    assert search(templates, text) == search(catalogue(), text)


def test_the_categories_are_a_fixed_sorted_set() -> None:
    assert list(CATEGORIES) == sorted(set(CATEGORIES))
