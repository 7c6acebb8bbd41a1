"""Following a deployment log: whole lines only, from a byte offset, and skipping lines."""

from __future__ import annotations

from pathlib import Path

from rivetr.adapters.logs import LogStore


def test_a_follower_reads_whole_lines_and_waits_for_one_being_written(tmp_path: Path) -> None:
    logs = LogStore(tmp_path)
    log = logs.open("web", "d1")
    log.write("build", "one")
    with logs.path("web", "d1").open("a") as file:
        file.write("build| half")  # a line whose end has not been written yet
        file.flush()
        lines, offset = logs.read_from("web", "d1", 0)
        assert lines == ["build| one"]
        assert logs.read_from("web", "d1", offset) == ([], offset)
        file.write(" done\n")
    lines, end = logs.read_from("web", "d1", offset)
    assert lines == ["build| half done"]
    assert logs.skip_lines("web", "d1", 1) == (1, offset)
    assert logs.skip_lines("web", "d1", None) == (2, end)
    assert logs.skip_lines("web", "d1", 0) == (0, 0)
    assert logs.read_from("web", "nope", 0) == ([], 0)
    log.close()
