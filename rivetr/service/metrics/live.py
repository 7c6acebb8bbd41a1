"""The metrics of this process and its host, read from what they keep as they run: the proxy's
requests, the event log's size and append latency, server-sent event readers, each live
container's CPU and memory (the resource sampler's last reading) and the host's CPU, memory and
disk. These start again from zero with the process, as Prometheus expects of counters."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path

from rivetr.adapters.histograms import Histogram
from rivetr.adapters.host import HostProbe
from rivetr.adapters.proxy.stats import ProxyStats
from rivetr.service.metrics.exposition import Family, histogram, labels, sample
from rivetr.service.reactors.resources import Reading

log = logging.getLogger(__name__)
LOG_FILES = ("events.db", "events.db-wal")  # what the log takes on disk, its WAL included


def proxy(stats: ProxyStats) -> list[Family]:
    requests = sorted(stats.requests.items())
    latency = sorted(stats.latency.items())
    return [
        Family(
            "rivetr_proxy_requests_total",
            "Requests the proxy forwarded to an app, by app and the status the client got.",
            "counter",
            [sample(labels(("app", app), ("code", str(code))), n) for (app, code), n in requests],
        ),
        Family(
            "rivetr_proxy_request_duration_seconds",
            "Time from a request's head to the end of its answer, by app.",
            "histogram",
            [
                sample
                for app, seen in latency
                for sample in histogram(labels(("app", app)), seen.cumulative(), seen.sum)
            ],
        ),
        *balancing(stats),
    ]


def balancing(stats: ProxyStats) -> list[Family]:
    """Apps served by several replicas: who answered, and what failed on the way."""

    def member(app: str, host: str, port: int) -> str:
        return labels(("app", app), ("address", f"{host}:{port}"))

    return [
        Family(
            "rivetr_proxy_member_requests_total",
            "Requests of a balanced app answered by each of its replicas, by address.",
            "counter",
            [sample(member(*key), n) for key, n in sorted(stats.members.items())],
        ),
        Family(
            "rivetr_proxy_failovers_total",
            "Requests of a balanced app sent on to another replica after one failed them.",
            "counter",
            [sample(labels(("app", app)), n) for app, n in sorted(stats.failovers.items())],
        ),
        Family(
            "rivetr_proxy_ejections_total",
            "Times a replica was taken out of its app's balance for failing a connection.",
            "counter",
            [sample(member(*key), n) for key, n in sorted(stats.ejections.items())],
        ),
    ]


def event_log(data_dir: Path, events: int, append_latency: Histogram | None) -> list[Family]:
    size = 0
    for name in LOG_FILES:
        with contextlib.suppress(FileNotFoundError):  # no WAL right after a checkpoint
            size += (data_dir / name).stat().st_size
    families = [
        Family(
            "rivetr_event_log_bytes",
            "Size of the event log on disk.",
            "gauge",
            [sample("", size)],
        ),
        Family(
            "rivetr_event_log_events",
            "Events in the log.",
            "gauge",
            [sample("", events)],
        ),
    ]
    if append_latency is not None:
        families.append(
            Family(
                "rivetr_event_append_duration_seconds",
                "Time from an append's call to its commit, waiting behind others included.",
                "histogram",
                histogram("", append_latency.cumulative(), append_latency.sum),
            )
        )
    return families


def sse(subscribers: int) -> list[Family]:
    return [
        Family(
            "rivetr_sse_subscribers",
            "Readers following the event log live (server-sent event streams).",
            "gauge",
            [sample("", subscribers)],
        )
    ]


def containers(readings: Mapping[str, Reading]) -> list[Family]:
    live = sorted((reading.app, app_id, reading) for app_id, reading in readings.items())
    cpu, memory, limits = [], [], []
    for app, app_id, reading in live:
        named = labels(("app", app), ("app_id", app_id))
        cpu.append(sample(named, reading.cpu_ns / 1e9))
        memory.append(sample(named, reading.memory_bytes))
        if reading.memory_limit_bytes:
            limits.append(sample(named, reading.memory_limit_bytes))
    return [
        Family(
            "rivetr_container_cpu_seconds_total",
            "CPU time each app's live container has used, as last sampled.",
            "counter",
            cpu,
        ),
        Family(
            "rivetr_container_memory_bytes",
            "Memory each app's live container uses, as last sampled.",
            "gauge",
            memory,
        ),
        Family(
            "rivetr_container_memory_limit_bytes",
            "The memory limit of each app's live container.",
            "gauge",
            limits,
        ),
    ]


def host(probe: HostProbe) -> list[Family]:
    try:
        now = probe.read()
    except OSError as exc:  # not Linux, or /proc hidden: the rest is still worth scraping
        log.debug("no host figures: %s", exc)
        return []
    idle = now.cpu_total_s - now.cpu_busy_s
    return [
        Family(
            "rivetr_host_cpu_seconds_total",
            "CPU time of all the host's cores since boot, busy or idle.",
            "counter",
            [
                sample(labels(("mode", "busy")), now.cpu_busy_s),
                sample(labels(("mode", "idle")), idle),
            ],
        ),
        Family(
            "rivetr_host_memory_bytes",
            "The host's memory.",
            "gauge",
            [sample("", now.memory_total_bytes)],
        ),
        Family(
            "rivetr_host_memory_available_bytes",
            "The host's memory programs could still be given without swapping.",
            "gauge",
            [sample("", now.memory_available_bytes)],
        ),
        Family(
            "rivetr_host_disk_bytes",
            "Size of the file system holding the data directory.",
            "gauge",
            [sample("", now.disk_total_bytes)],
        ),
        Family(
            "rivetr_host_disk_available_bytes",
            "Space left on the file system holding the data directory.",
            "gauge",
            [sample("", now.disk_available_bytes)],
        ),
    ]
