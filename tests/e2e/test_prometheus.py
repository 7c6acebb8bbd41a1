"""A real Prometheus (Debian's) scrapes a running `rivetr serve` twice over: on the API's
address with the metrics token, and on metrics_listen with none; then PromQL over its HTTP API
answers with what Rivetr holds (its apps, its deployments by result)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import run_cli
from tests.net import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
TOKEN = "prometheus-scrapes-rivetr-0123"
CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: rivetr
    authorization:
      type: Bearer
      credentials: {token}
    static_configs:
      - targets: ["127.0.0.1:{api}"]
  - job_name: rivetr-listen
    static_configs:
      - targets: ["127.0.0.1:{listen}"]
"""


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Any]:
    if not Path(PROMETHEUS).exists():
        pytest.skip("no prometheus: tests/run installs Debian's")
    processes: list[subprocess.Popen[bytes]] = []

    def start(api: int, listen: int) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(CONFIG.format(token=TOKEN, api=api, listen=listen))
        port = free_port()
        log = (tmp_path / "prometheus.log").open("w")
        processes.append(
            subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=20)


def query(prometheus: str, promql: str, timeout: float = 60) -> list[dict[str, Any]]:
    """The PromQL query's vector, once Prometheus answers it with something."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
            if answer.status_code == 200:
                body = answer.json()
                assert body["status"] == "success", body
                if body["data"]["result"]:
                    return list(body["data"]["result"])
        except httpx.TransportError:
            pass  # still starting
        assert time.monotonic() < deadline, f"Prometheus never answered {promql!r}"
        time.sleep(0.5)


def test_prometheus_scrapes_rivetr_and_answers_promql(server_factory, prometheus, tmp_path):
    listen = free_port()
    server = server_factory(
        tmp_path / "data",
        env={
            "RIVETR_ENGINE": "none",
            "RIVETR_METRICS_TOKEN": TOKEN,
            "RIVETR_METRICS_LISTEN": f"127.0.0.1:{listen}",
        },
    ).start()
    token = run_cli(server.data_dir, "tokens", "create", "--name", "ci").stdout.strip()
    for name in ("web", "api"):
        made = httpx.post(
            f"{server.url}/api/v1/apps",
            json={"name": name, "git_url": "https://git.example.com/x.git"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    promql = prometheus(server.port, listen)

    # each job is asked for: the two are scraped at their own moments, either first
    for job in ("rivetr", "rivetr-listen"):
        [up] = query(promql, f'up{{job="{job}"}} == 1')
        assert up["metric"]["instance"].startswith("127.0.0.1:"), up
    [apps] = query(promql, 'rivetr_apps{job="rivetr"}')
    assert apps["value"][1] == "2"
    [listened] = query(promql, 'rivetr_apps{job="rivetr-listen"}')
    assert listened["value"][1] == "2"
    succeeded = query(promql, 'rivetr_deployments_total{job="rivetr",result="succeeded"}')
    assert [s["value"][1] for s in succeeded] == ["0"]
    [targets] = [
        t
        for t in httpx.get(f"{promql}/api/v1/targets").json()["data"]["activeTargets"]
        if t["labels"]["job"] == "rivetr"
    ]
    assert (targets["health"], targets["lastError"]) == ("up", "")
