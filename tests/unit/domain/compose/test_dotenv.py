"""Dotenv files are read by Compose's rules (the "Syntax for environment files" page): quotes,
`export`, comments, escapes, interpolation with defaults, bare keys from the lookup, later lines
seeing earlier ones."""

from __future__ import annotations

import pytest

from rivetr.domain.compose.dotenv import DotenvError, parse_dotenv


def values(text: str, known: dict[str, str] | None = None) -> dict[str, str]:
    return parse_dotenv(text, (known or {}).get).values


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("VAR=VAL", "VAL"),
        ('VAR="VAL"', "VAL"),
        ("VAR='VAL'", "VAL"),
        ("VAR=VAL # comment", "VAL"),
        ("VAR=VAL# not a comment", "VAL# not a comment"),
        ('VAR="VAL # not a comment"', "VAL # not a comment"),
        ('VAR="VAL" # comment', "VAL"),
        ("VAR='$OTHER'", "$OTHER"),
        ("VAR='${OTHER}'", "${OTHER}"),
        ("VAR='Let\\'s go!'", "Let's go!"),
        ('VAR="{\\"hello\\": \\"json\\"}"', '{"hello": "json"}'),
        ('VAR="some\\tvalue"', "some\tvalue"),
        ("VAR='some\\tvalue'", "some\\tvalue"),
        ("VAR=some\\tvalue", "some\\tvalue"),
        ('VAR="a\\nb"', "a\nb"),
        ('VAR="\\$OTHER"', "$OTHER"),
        ('VAR="\\0101"', "A"),
        ("export VAR=VAL", "VAL"),
        ("VAR: VAL", "VAL"),
        ("  VAR  =  spaced value  ", "spaced value"),
        ("VAR=", ""),
        ("VAR=a=b", "a=b"),
    ],
)
def test_each_line_reads_as_the_compose_docs_say(line: str, value: str) -> None:
    assert values(line) == {"VAR": value}


def test_values_interpolate_from_the_lookup_first_then_the_lines_above() -> None:
    text = (
        'IMAGE_NAME="${IMAGE_NAME:-backend}"\n'
        'IMAGE_TAG="${IMAGE_TAG:-latest}"\n'
        "REF=$IMAGE_NAME:${IMAGE_TAG}\n"
        "LATER=${DEFINED_BELOW:-none}\n"
        "DEFINED_BELOW=x\n"
    )
    assert values(text) == {
        "IMAGE_NAME": "backend",
        "IMAGE_TAG": "latest",
        "REF": "backend:latest",
        "LATER": "none",
        "DEFINED_BELOW": "x",
    }
    assert values(text, {"IMAGE_NAME": "test"})["REF"] == "test:latest"


def test_a_bare_key_takes_the_lookup_value_or_is_left_out() -> None:
    assert values("KNOWN\nUNKNOWN\n", {"KNOWN": "k"}) == {"KNOWN": "k"}


def test_comments_blank_lines_and_multiline_quotes_keep_the_line_numbers() -> None:
    parsed = parse_dotenv('# head\n\nA=1\nB="two\nlines"\nC=3\n', {}.get)
    assert parsed.values == {"A": "1", "B": "two\nlines", "C": "3"}
    assert parsed.lines == {"A": 3, "B": 4, "C": 6}


def test_unset_variables_are_reported_with_their_line() -> None:
    parsed = parse_dotenv("A=1\nB=${NOPE}\n", {}.get)
    assert parsed.unset == [("NOPE", 2)]


def test_raw_format_takes_values_as_written() -> None:
    parsed = parse_dotenv('# c\nA="$x" # y\n', {}.get, raw=True)
    assert parsed.values == {"A": '"$x" # y'}


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("A=1\nB C=2\n", "holds a space", 2),
        ("A=1\nB!=2\n", "unexpected character '!'", 2),
        ('A="open\n', "unterminated quoted value", 1),
        ("A=${B:?B is needed}\n", "required variable B is missing a value: B is needed", 1),
        ("A=1\nB=${\n", "no variable name", 2),
    ],
)
def test_malformed_lines_are_refused_with_their_line(text: str, problem: str, line: int) -> None:
    with pytest.raises(DotenvError) as refused:
        parse_dotenv(text, {}.get)
    assert problem in str(refused.value)
    assert refused.value.line == line
