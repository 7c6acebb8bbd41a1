"""When certificates are ordered: new domains at once, renewals once a third of the lifetime is
left (spread over a window), retries after 1 min, 10 min, 100 min, then daily; uploaded
certificates are the user's to renew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rivetr.domain.renewal import BACKOFF, advised_renewal, renewal_due, retry_after
from rivetr.projections.certificates import CertificateView
from rivetr.service.reactors.renewal import plan_one, spread_of

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def cert(**fields: object) -> CertificateView:
    values: dict[str, object] = {
        "domain": "shop.test",
        "app": "shop",
        "app_id": "shop1",
        "source": "acme",
        "not_before": T0.isoformat(),
        "not_after": (T0 + timedelta(days=90)).isoformat(),
        "issuer": "CN=CA",
        "fingerprint": "ab",
        "installed_at": T0.isoformat(),
        "last_error": None,
        "last_error_at": None,
        "failures": 0,
    }
    values.update(fields)
    return CertificateView(**values)  # type: ignore[arg-type]


def test_a_renewal_is_due_with_a_third_of_the_lifetime_left_spread_over_a_window() -> None:
    start, end = T0, T0 + timedelta(days=90)
    assert renewal_due(start, end, 0.0) == T0 + timedelta(days=60)
    assert renewal_due(start, end, 0.999) < T0 + timedelta(days=60) + timedelta(days=4.5)


@pytest.mark.parametrize(("failures", "pause"), [(1, 1), (2, 10), (3, 100), (4, 1440), (9, 1440)])
def test_retries_back_off(failures: int, pause: int) -> None:
    assert retry_after(T0, failures) == T0 + timedelta(minutes=pause)
    assert len(BACKOFF) == 4


def test_a_domain_without_a_certificate_is_ordered_at_once() -> None:
    due = plan_one("shop", "shop.test", None)
    assert due is not None
    assert (due.why, due.at) == ("new", datetime.min.replace(tzinfo=UTC))


def test_an_acme_certificate_is_renewed_and_an_uploaded_one_left_alone() -> None:
    due = plan_one("shop", "shop.test", cert())
    assert due is not None
    assert due.why == "renewal"
    assert T0 + timedelta(days=60) <= due.at <= T0 + timedelta(days=65)
    assert plan_one("shop", "shop.test", cert(source="uploaded")) is None


def test_after_failures_the_next_try_waits() -> None:
    failed_at = T0 + timedelta(days=70)
    due = plan_one("shop", "shop.test", cert(failures=2, last_error_at=failed_at.isoformat()))
    assert due is not None
    assert (due.why, due.at) == ("retry", failed_at + timedelta(minutes=10))
    never_issued = cert(source=None, not_before=None, not_after=None, failures=1,
                        last_error_at=T0.isoformat())  # fmt: skip
    first = plan_one("shop", "shop.test", never_issued)
    assert first is not None
    assert (first.why, first.at) == ("retry", T0 + timedelta(minutes=1))


def test_the_spread_is_stable_per_certificate() -> None:
    assert spread_of("a.test", "x") == spread_of("a.test", "x")
    assert 0 <= spread_of("a.test", "x") < 1
    assert spread_of("a.test", "x") != spread_of("b.test", "x")


def test_the_cas_advice_wins_over_the_third_of_the_lifetime() -> None:
    early = T0 + timedelta(days=10)  # say, the CA is about to revoke it
    due = plan_one("shop", "shop.test", cert(renew_at=early.isoformat()))
    assert due is not None
    assert (due.why, due.at) == ("advised", early)


def test_an_advised_renewal_is_spread_over_the_window_the_ca_gave() -> None:
    start, end = T0 + timedelta(days=60), T0 + timedelta(days=62)
    assert advised_renewal(start, end, 0.0) == start
    assert advised_renewal(start, end, 0.5) == T0 + timedelta(days=61)
    assert start <= advised_renewal(start, end, 0.999) < end
    assert advised_renewal(end, start, 0.7) == end  # a window the wrong way round: its start
