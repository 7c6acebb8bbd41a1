"""Labels typed one KEY=VALUE a line: read with blank lines and comments skipped, refused by
line number with what a key or value may hold, and shown back sorted."""

from __future__ import annotations

import pytest

from rivetr.domain.errors import InvalidCommand
from rivetr.web.pages.label_lines import label_lines, parse_labels


def test_lines_are_read_into_labels_and_shown_back_by_key() -> None:
    labels = parse_labels("\n zone = eu \n# fast disks\ndisk=ssd\nempty=\n", "labels")

    assert labels == {"zone": "eu", "disk": "ssd", "empty": ""}
    assert label_lines(labels) == "disk=ssd\nempty=\nzone=eu"
    assert parse_labels("", "labels") == {}


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("zone=eu\nssd", "line 2 is not KEY=VALUE: 'ssd'"),
        ("=eu", "line 1 is not KEY=VALUE: '=eu'"),
        ("a b=c", "line 1: 'a b' is not a label key (letters, digits, dots, hyphens"),
        ("zone=e u", "line 1: the value of zone is not a label's (letters, digits and"),
        ("zone=eu\nzone=us", "line 2: zone is set twice"),
    ],
)
def test_a_line_that_is_no_label_is_refused_by_its_number(text: str, said: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        parse_labels(text, "constraints")

    assert said in str(refused.value)
    assert refused.value.field == "constraints"
