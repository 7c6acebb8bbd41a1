"""Lines out of an engine's log frames, as the Docker SDK hands them over (one frame per
chunk; a line over 16 KB in several frames, each with its own time, only the last ending it)."""

from __future__ import annotations

from rivetr.adapters.runtime.base import LogLine
from rivetr.adapters.runtime.docker import _split_log

T1 = b"2026-11-27T13:47:35.696990648Z "
T2 = b"2026-11-27T13:47:35.697669094Z "


def test_one_frame_per_line() -> None:
    frames = [T1 + b"hello\n", T2 + b"\x1b[31mred\x1b[0m\n"]
    assert list(_split_log(frames)) == [
        LogLine("2026-11-27T13:47:35.696990648Z", "hello"),
        LogLine("2026-11-27T13:47:35.697669094Z", "\x1b[31mred\x1b[0m"),
    ]


def test_a_long_line_in_several_frames_is_one_line_with_its_first_time() -> None:
    frames = [T1 + b"a" * 16384, T2 + b"a" * 16384, T2 + b"a" * 7232 + b"\n", T2 + b"short\n"]
    lines = list(_split_log(frames))
    assert lines == [
        LogLine("2026-11-27T13:47:35.696990648Z", "a" * 40000),
        LogLine("2026-11-27T13:47:35.697669094Z", "short"),
    ]


def test_several_lines_in_a_chunk_and_an_unfinished_last_line() -> None:
    chunks = [T1 + b"one\n" + T2 + b"two\n", T2 + b"three, unfinished"]
    assert [line.text for line in _split_log(chunks)] == ["one", "two", "three, unfinished"]


def test_a_line_without_a_time_keeps_its_text() -> None:
    assert list(_split_log([b"no time here\n"])) == [LogLine("", "no time here")]
