"""Every type a projection says it handles is an event type the log can hold: a misspelt one
would never be applied, silently."""

from __future__ import annotations

import pytest

from rivetr.domain.events import EVENT_TYPES, Event
from rivetr.projections.base import Projection, tag, tags
from rivetr.projections.registry import all_projections


@pytest.mark.parametrize("projection", all_projections(), ids=lambda p: p.name)
def test_every_handled_type_is_a_real_event_type(projection: Projection) -> None:
    if projection.handles is None:
        return  # every event
    assert projection.handles, f"{projection.name} handles nothing"
    assert projection.handles <= set(EVENT_TYPES), projection.handles - set(EVENT_TYPES)


def test_tags_are_the_types_events_are_logged_under() -> None:
    assert tags(*EVENT_TYPES.values()) == set(EVENT_TYPES)
    assert all(tag(kind) == name for name, kind in EVENT_TYPES.items())


def test_a_class_without_a_tag_of_its_own_is_refused() -> None:
    with pytest.raises(TypeError, match="Event"):
        tags(Event)
