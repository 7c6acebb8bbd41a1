"""GET /metrics: off (404) unless a metrics token is set; with one, 401 for a missing or wrong
token (an API token is not it) and Prometheus' text for the right one; and metrics_listen, an
address of its own that serves /metrics with no token and nothing else."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from rivetr.domain.access import SYSTEM
from tests.net import free_port

TOKEN = "scrape-me-please-0123456789"


@pytest.fixture
def scraped(tmp_path: Path, shared_app: Any) -> Any:
    with shared_app.on(tmp_path / "data", metrics_token=TOKEN) as client:
        yield client


def test_with_no_token_set_metrics_are_off(client, auth) -> None:
    answer = client.get("/metrics", headers=auth)  # an admin's API token changes nothing
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "metrics_token" in answer.json()["detail"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-the-token-at-all"}, {"Authorization": TOKEN}]
)
def test_a_missing_or_wrong_token_is_a_401_problem(scraped, headers) -> None:
    answer = scraped.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["status"] == 401


def admin_token(client: Any) -> str:
    services = client.app.state.services
    _, secret = client.blocking_portal.call(services.tokens.create, SYSTEM, "admin", "admin")
    return str(secret)


def test_an_api_token_is_not_the_metrics_token(scraped) -> None:
    secret = admin_token(scraped)
    answer = scraped.get("/metrics", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401


def test_the_token_gets_prometheus_text_from_the_read_model(scraped) -> None:
    secret = admin_token(scraped)
    made = scraped.post(
        "/api/v1/apps",
        json={"name": "web", "git_url": "https://git.example.com/web.git"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert made.status_code == 201

    answer = scraped.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = answer.text.splitlines()
    assert "# TYPE rivetr_apps gauge" in lines
    assert "rivetr_apps 1" in lines
    assert 'rivetr_deployments_total{result="succeeded"} 0' in lines
    assert any(line.startswith("rivetr_event_log_events ") for line in lines)
    assert any(line.startswith("rivetr_event_append_duration_seconds_count ") for line in lines)


def test_metrics_listen_serves_metrics_without_a_token_and_nothing_else(
    tmp_path: Path, shared_app: Any
) -> None:
    port = free_port()
    with shared_app.on(tmp_path / "data", metrics_listen=f"127.0.0.1:{port}") as client:
        assert client.get("/metrics").status_code == 404  # not on the API's address
        base = f"http://127.0.0.1:{port}"
        scraped = httpx.get(f"{base}/metrics", timeout=10)
        head = httpx.head(f"{base}/metrics", timeout=10)
        posted = httpx.post(f"{base}/metrics", timeout=10)
        elsewhere = httpx.get(f"{base}/api/v1/apps", timeout=10)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"x" * 10_000)  # no head's end within the limit: closed, no answer
            assert sock.recv(100) == b""

    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "rivetr_apps 0" in scraped.text.splitlines()
    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["content-length"]) > 1000  # the body's, not sent (figures move)
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")
    assert elsewhere.status_code == 404
    with pytest.raises(httpx.TransportError):  # closed with the app
        httpx.get(f"{base}/metrics", timeout=2)
