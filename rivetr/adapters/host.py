"""The host Rivetr runs on: its CPU time, memory and the disk of the data directory, read from
Linux's /proc and statvfs (three small reads, no psutil). The port `HostProbe`, the real
`ProcHost` and the twin `FakeHost` that tests set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import msgspec

# the idle columns of /proc/stat's cpu line: time neither user, system nor irq code had
_IDLE_COLUMNS = (3, 4)  # idle, iowait


class HostReading(msgspec.Struct, frozen=True, kw_only=True):
    cpu_busy_s: float  # CPU time all cores spent working since boot
    cpu_total_s: float  # CPU time all cores had since boot (busy and idle)
    memory_total_bytes: int
    memory_available_bytes: int  # what could be given to programs without swapping
    disk_total_bytes: int  # of the file system holding the data directory
    disk_available_bytes: int  # what an unprivileged writer may still write there

    @property
    def memory_percent(self) -> float:
        used = self.memory_total_bytes - self.memory_available_bytes
        return _percent(used, self.memory_total_bytes)

    @property
    def disk_percent(self) -> float:
        return _percent(self.disk_total_bytes - self.disk_available_bytes, self.disk_total_bytes)


def cpu_percent(before: HostReading, after: HostReading) -> float | None:
    """How busy the CPUs were between two readings (of all cores: 100 is every core busy);
    None when no CPU time passed between them."""
    total = after.cpu_total_s - before.cpu_total_s
    if total <= 0:
        return None
    return _percent(after.cpu_busy_s - before.cpu_busy_s, total)


def _percent(part: float, whole: float) -> float:
    return min(max(part / whole * 100, 0.0), 100.0) if whole > 0 else 0.0


class HostProbe(Protocol):
    def read(self) -> HostReading:
        """The host as it is now.

        Raises:
            OSError: the host's figures cannot be read (no /proc: not Linux).
        """
        ...


class ProcHost:
    """Linux: /proc/stat, /proc/meminfo, and statvfs of `data_dir`."""

    def __init__(self, data_dir: Path, proc: Path = Path("/proc")) -> None:
        self.data_dir = data_dir
        self.proc = proc
        self.tick = os.sysconf("SC_CLK_TCK")  # /proc/stat counts in these per second

    def read(self) -> HostReading:
        busy, total = self._cpu()
        memory = self._memory()
        disk = os.statvfs(self.data_dir)
        # as df counts: used = blocks - free; the size an unprivileged writer sees is
        # used + available (the blocks kept for root are neither)
        used = (disk.f_blocks - disk.f_bfree) * disk.f_frsize
        available = disk.f_bavail * disk.f_frsize
        return HostReading(
            cpu_busy_s=busy / self.tick,
            cpu_total_s=total / self.tick,
            memory_total_bytes=memory.get("MemTotal", 0),
            memory_available_bytes=memory.get("MemAvailable", memory.get("MemFree", 0)),
            disk_total_bytes=used + available,
            disk_available_bytes=available,
        )

    def _cpu(self) -> tuple[int, int]:
        with (self.proc / "stat").open() as stat:
            first = stat.readline().split()
        if not first or first[0] != "cpu":
            raise OSError(f"{self.proc / 'stat'} has no cpu line")
        # user nice system idle iowait irq softirq steal; guest time is already in user
        ticks = [int(value) for value in first[1:9]]
        idle = sum(ticks[i] for i in _IDLE_COLUMNS)
        return sum(ticks) - idle, sum(ticks)

    def _memory(self) -> dict[str, int]:
        found = {}
        with (self.proc / "meminfo").open() as meminfo:
            for line in meminfo:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    found[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
        return found


class FakeHost:
    """The twin: answers what a test set, and counts CPU time on as a test says."""

    def __init__(self, reading: HostReading | None = None) -> None:
        self.reading = reading or HostReading(
            cpu_busy_s=0.0,
            cpu_total_s=0.0,
            memory_total_bytes=8 * 2**30,
            memory_available_bytes=6 * 2**30,
            disk_total_bytes=100 * 2**30,
            disk_available_bytes=60 * 2**30,
        )
        self.failing: OSError | None = None

    def read(self) -> HostReading:
        if self.failing is not None:
            raise self.failing
        return self.reading

    def set(self, **changes: float) -> None:
        self.reading = msgspec.structs.replace(self.reading, **changes)
