"""Host threshold events in the audit history: the instance's, so its administrators read them
(the API and the /audit page) and a member of another team does not; each entry says what
crossed, how far and over which window."""

from __future__ import annotations

from rivetr.adapters.clock import FakeClock
from rivetr.adapters.host import FakeHost
from rivetr.domain.host_events import HostThresholdCrossed
from rivetr.domain.host_thresholds import HostThreshold
from rivetr.service.reactors.host_sampler import HostSampler
from tests.web.test_audit import sign_in_with_token


def raise_disk_alert(call, services) -> None:  # type: ignore[no-untyped-def]
    """What the sampler records of a disk 95 % full for a whole window."""
    host, clock = FakeHost(), FakeClock()
    host.set(disk_total_bytes=100, disk_available_bytes=5)
    threshold = HostThreshold(metric="disk", percent=90, window_s=60)
    sampler = HostSampler(services.store, host, [threshold], clock, interval_s=30, window_s=60)
    for _ in range(4):
        call(sampler.sample)
        clock.advance(30)
    call(services.runner.wait_until, call(services.store.head))


def test_instance_admins_read_host_alerts_and_other_teams_do_not(
    client, call, services, auth, member, session_headers
) -> None:
    raise_disk_alert(call, services)

    [entry] = client.get("/api/v1/audit", params={"type": "host.*"}, headers=auth).json()
    assert (entry["type"], entry["team"]) == ("host.threshold_crossed", None)
    [logged] = call(services.store.read_stream, "host-thresholds")
    assert logged.position == entry["position"]
    assert logged.event == HostThresholdCrossed(
        metric="disk", value=95.0, threshold=90.0, window_s=60.0, recovers_below=85.0
    )
    sign_in_with_token(client, auth)
    assert f'href="/audit/events/{entry["position"]}"' in client.get("/audit").text
    page = client.get(f"/audit/events/{entry['position']}")
    assert page.status_code == 200
    data = page.text.split('id="event-data"', 1)[1].split("</pre>", 1)[0]
    assert "&#34;recovers_below&#34;: 85.0" in data

    member("owner@acme.test", "owner", "acme")
    session_headers("owner@acme.test")
    seen = client.get("/api/v1/audit", params={"type": "host.*"}).json()
    assert seen == []
    assert client.get(f"/audit/events/{entry['position']}").status_code == 404
