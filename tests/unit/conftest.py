"""Fixtures shared by the unit tests of more than one package."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.projections.runner import ProjectionRunner
from rivetr.service.reactors.hub import EventHub


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[EventHub]:
    store = InMemoryEventStore()
    runner = ProjectionRunner(store, tmp_path / "read.db", all_projections())
    await runner.open()
    read = await ReadModel.open(tmp_path / "read.db")
    hub = EventHub(store, read)
    async with anyio.create_task_group() as group:
        group.start_soon(hub.run, 0)
        yield hub
        group.cancel_scope.cancel()
    await read.close()
    await runner.close()
    await store.close()
