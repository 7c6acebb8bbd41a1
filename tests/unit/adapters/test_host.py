"""The host's figures from /proc and statvfs: CPU time busy and in all, memory available, the
data directory's disk; and the percentages the thresholds compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.adapters.histograms import Histogram
from rivetr.adapters.host import FakeHost, HostReading, ProcHost, cpu_percent

STAT = "cpu  100 20 30 800 50 5 5 0 0 0\ncpu0 100 20 30 800 50 5 5 0 0 0\n"
MEMINFO = "MemTotal:       8000 kB\nMemFree:        1000 kB\nMemAvailable:   2000 kB\n"


def fake_proc(root: Path, stat: str = STAT, meminfo: str = MEMINFO) -> Path:
    root.mkdir(exist_ok=True)
    (root / "stat").write_text(stat)
    (root / "meminfo").write_text(meminfo)
    return root


def test_proc_host_reads_cpu_memory_and_the_data_directorys_disk(tmp_path: Path) -> None:
    host = ProcHost(tmp_path, fake_proc(tmp_path / "proc"))
    reading = host.read()

    tick = host.tick
    assert reading.cpu_total_s == pytest.approx(1010 / tick)
    assert reading.cpu_busy_s == pytest.approx((1010 - 800 - 50) / tick)  # idle, iowait aside
    assert reading.memory_total_bytes == 8000 * 1024
    assert reading.memory_available_bytes == 2000 * 1024
    assert reading.memory_percent == pytest.approx(75.0)
    assert reading.disk_total_bytes > 0
    assert 0 <= reading.disk_percent <= 100


def test_a_proc_without_a_cpu_line_is_an_os_error(tmp_path: Path) -> None:
    host = ProcHost(tmp_path, fake_proc(tmp_path / "proc", stat="intr 1 2\n"))
    with pytest.raises(OSError, match="no cpu line"):
        host.read()


def test_the_real_host_reads() -> None:
    reading = ProcHost(Path(".")).read()
    assert reading.cpu_total_s > reading.cpu_busy_s > 0
    assert reading.memory_total_bytes >= reading.memory_available_bytes > 0


def test_cpu_percent_is_busy_time_over_all_time_between_two_readings() -> None:
    host = FakeHost()
    before = host.read()
    host.set(cpu_busy_s=30.0, cpu_total_s=40.0)
    after = host.read()

    assert cpu_percent(before, after) == pytest.approx(75.0)
    assert cpu_percent(after, after) is None  # no time passed


def test_percentages_stay_within_0_and_100_whatever_the_figures() -> None:
    odd = HostReading(
        cpu_busy_s=0,
        cpu_total_s=0,
        memory_total_bytes=0,
        memory_available_bytes=5,
        disk_total_bytes=10,
        disk_available_bytes=20,
    )
    assert odd.memory_percent == 0.0
    assert odd.disk_percent == 0.0


def test_a_histogram_refuses_bounds_out_of_order() -> None:
    with pytest.raises(ValueError, match="increasing"):
        Histogram((1.0, 0.5))
