"""The base every event derives from, in a module of its own so that the events of one
resource kind can live in their own module (`database_events.py`) and still join the one
tagged union in `events.py`."""

from __future__ import annotations

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of all events. Unknown fields are tolerated so older code can read newer events."""
