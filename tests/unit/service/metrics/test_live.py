"""The metrics of the process and its host, from the twins of what keeps them: the proxy's
counters, the log's files and append latency, SSE readers, the resource sampler's readings and
the host probe; and who may scrape them on the API's address."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.adapters.histograms import Histogram
from rivetr.adapters.host import FakeHost
from rivetr.adapters.proxy.stats import ProxyStats
from rivetr.domain.errors import NotFound
from rivetr.service.metrics import live
from rivetr.service.metrics.exposition import render
from rivetr.service.metrics.scrape import Metrics, MetricsTokenRefused
from rivetr.service.reactors.resources import Reading
from tests.unit.service.metrics.scraped import scraped


def test_proxy_requests_count_by_app_and_code_with_latency_by_app() -> None:
    stats = ProxyStats()
    stats.observe("web", 200, 0.002)
    stats.observe("web", 200, 0.2)
    stats.observe("web", 502, 0.001)
    stats.observe("api", 404, 0.0001)

    found = scraped(live.proxy(stats))

    assert {k: v for k, v in found.items() if k.startswith("rivetr_proxy_requests")} == {
        'rivetr_proxy_requests_total{app="api",code="404"}': 1,
        'rivetr_proxy_requests_total{app="web",code="200"}': 2,
        'rivetr_proxy_requests_total{app="web",code="502"}': 1,
    }
    latency = "rivetr_proxy_request_duration_seconds"
    assert found[f'{latency}_bucket{{app="web",le="0.001"}}'] == 1
    assert found[f'{latency}_bucket{{app="web",le="0.0025"}}'] == 2
    assert found[f'{latency}_bucket{{app="web",le="+Inf"}}'] == 3
    assert found[f'{latency}_sum{{app="web"}}'] == pytest.approx(0.203)
    assert found[f'{latency}_count{{app="api"}}'] == 1


def test_balanced_apps_count_each_replicas_answers_failovers_and_ejections() -> None:
    stats = ProxyStats()
    stats.answered_by("web", "10.0.0.2", 30001)
    stats.answered_by("web", "10.0.0.2", 30001)
    stats.answered_by("web", "10.0.0.3", 30002)
    stats.failed_over("web")
    stats.ejected("web", "10.0.0.4", 30003)

    found = scraped(live.proxy(stats))

    assert found['rivetr_proxy_member_requests_total{app="web",address="10.0.0.2:30001"}'] == 2
    assert found['rivetr_proxy_member_requests_total{app="web",address="10.0.0.3:30002"}'] == 1
    assert found['rivetr_proxy_failovers_total{app="web"}'] == 1
    assert found['rivetr_proxy_ejections_total{app="web",address="10.0.0.4:30003"}'] == 1


def test_the_log_is_its_files_sizes_its_events_and_its_append_latency(tmp_path: Path) -> None:
    (tmp_path / "events.db").write_bytes(b"x" * 4096)
    (tmp_path / "events.db-wal").write_bytes(b"x" * 100)
    latency = Histogram()
    latency.observe(0.003)

    found = scraped(live.event_log(tmp_path, 42, latency))

    assert found["rivetr_event_log_bytes"] == 4196
    assert found["rivetr_event_log_events"] == 42
    assert found['rivetr_event_append_duration_seconds_bucket{le="0.0025"}'] == 0
    assert found['rivetr_event_append_duration_seconds_bucket{le="0.005"}'] == 1
    # a store that keeps no latency (the in-memory twin): only the sizes
    assert [f.name for f in live.event_log(tmp_path / "none", 0, None)] == [
        "rivetr_event_log_bytes",
        "rivetr_event_log_events",
    ]


def test_sse_subscribers_are_a_gauge() -> None:
    assert scraped(live.sse(3)) == {"rivetr_sse_subscribers": 3}


def test_each_live_container_reports_its_cpu_time_and_memory() -> None:
    readings = {
        "a1": Reading("rivetr-web-d1", 2_500_000_000, 1.0, "web", 64 * 2**20, 512 * 2**20),
        "a2": Reading("rivetr-api-d2", 1_000_000_000, 1.0, "api", 32 * 2**20, None),
    }
    assert scraped(live.containers(readings)) == {
        'rivetr_container_cpu_seconds_total{app="api",app_id="a2"}': 1.0,
        'rivetr_container_cpu_seconds_total{app="web",app_id="a1"}': 2.5,
        'rivetr_container_memory_bytes{app="api",app_id="a2"}': 32 * 2**20,
        'rivetr_container_memory_bytes{app="web",app_id="a1"}': 64 * 2**20,
        'rivetr_container_memory_limit_bytes{app="web",app_id="a1"}': 512 * 2**20,
    }


def test_the_host_reports_cpu_time_memory_and_disk_and_nothing_when_unreadable() -> None:
    host = FakeHost()
    host.set(cpu_busy_s=30.0, cpu_total_s=100.0)

    found = scraped(live.host(host))

    assert found['rivetr_host_cpu_seconds_total{mode="busy"}'] == 30.0
    assert found['rivetr_host_cpu_seconds_total{mode="idle"}'] == 70.0
    assert found["rivetr_host_memory_available_bytes"] == 6 * 2**30
    assert found["rivetr_host_disk_bytes"] == 100 * 2**30
    host.failing = OSError("no /proc")
    assert live.host(host) == []
    assert render([]) == ""


def metrics(token: str | None) -> Metrics:
    return Metrics(
        read=None,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        append_latency=None,
        proxy=ProxyStats(),
        hub=None,  # type: ignore[arg-type]
        resources=None,  # type: ignore[arg-type]
        host=FakeHost(),
        data_dir=Path("."),
        clock=None,  # type: ignore[arg-type]
        token=token,
    )


def test_without_a_token_the_api_address_serves_no_metrics() -> None:
    with pytest.raises(NotFound, match="metrics_token"):
        metrics(None).check("Bearer anything-at-all-here")


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic cmlnaHQtdG9rZW4tMTIzNDU=", "Bearer wrong-token-1234"],
)
def test_a_missing_or_wrong_token_is_refused(header: str | None) -> None:
    with pytest.raises(MetricsTokenRefused):
        metrics("right-token-12345").check(header)


def test_the_right_token_is_let_through_whatever_the_schemes_case() -> None:
    metrics("right-token-12345").check("Bearer right-token-12345")
    metrics("right-token-12345").check("bearer right-token-12345")
