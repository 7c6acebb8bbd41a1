"""Retention: only verified backups count towards keep_last, failed ones never push a good one
out (dokploy#3855), the newest verified backup survives every policy, and deciding again after
deleting deletes nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.errors import InvalidCommand
from rivetr.domain.retention import (
    NEWEST_VERIFIED,
    RetentionPolicy,
    StoredBackup,
    decide,
    to_delete,
)

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
STATES = {"verified": (True, False), "unverified": (False, False), "failed": (False, True)}


def backup(name: str, days_ago: float, state: str = "verified") -> StoredBackup:
    verified, failed = STATES[state]
    return StoredBackup(name, NOW - timedelta(days=days_ago), verified=verified, failed=failed)


def test_failing_backups_never_push_the_good_ones_out() -> None:
    good = [backup(f"good-{n}", 10 + n) for n in range(3)]
    failing = [backup(f"failed-{n}", n, "failed") for n in range(10)]

    deleted = to_delete(RetentionPolicy(keep_last=3), good + failing, NOW)

    assert sorted(deleted) == sorted(b.id for b in failing)


def test_keep_last_keeps_the_newest_verified_and_says_why_the_others_go() -> None:
    backups = [backup(f"b{n}", n) for n in range(5)]
    verdicts = decide(RetentionPolicy(keep_last=2), backups, NOW)

    assert [(v.backup.id, v.keep) for v in verdicts] == [
        ("b0", True),
        ("b1", True),
        ("b2", False),
        ("b3", False),
        ("b4", False),
    ]
    assert verdicts[1].reasons == ("the 2nd newest verified backup (keep_last)",)
    assert verdicts[2].reasons == ("not among the 2 newest verified ones",)


def test_the_newest_verified_backup_survives_a_policy_that_would_delete_it() -> None:
    backups = [backup("old-good", 40), backup("recent-failed", 1, "failed")]
    verdicts = decide(RetentionPolicy(keep_days=7), backups, NOW)

    assert [(v.backup.id, v.keep) for v in verdicts] == [
        ("recent-failed", True),
        ("old-good", True),
    ]
    assert verdicts[1].reasons == (f"{NEWEST_VERIFIED}, whatever the policy says",)


def test_a_backup_still_being_verified_is_kept_beside_the_verified_ones() -> None:
    backups = [backup("pending", 0, "unverified"), backup("v1", 1), backup("v2", 2)]
    assert to_delete(RetentionPolicy(keep_last=1), backups, NOW) == ["v2"]


def test_without_verification_keep_last_still_bounds_the_backups_kept() -> None:
    backups = [backup(f"u{n}", n, "unverified") for n in range(6)]
    assert to_delete(RetentionPolicy(keep_last=2), backups, NOW) == ["u2", "u3", "u4", "u5"]


def test_failed_backups_stay_while_younger_than_keep_days() -> None:
    backups = [backup("v", 3), backup("f-new", 1, "failed"), backup("f-old", 9, "failed")]
    assert to_delete(RetentionPolicy(keep_last=5, keep_days=7), backups, NOW) == ["f-old"]


def test_no_policy_keeps_everything() -> None:
    backups = [backup("f", 100, "failed"), backup("u", 50, "unverified")]
    assert to_delete(RetentionPolicy(), backups, NOW) == []


@pytest.mark.parametrize(("keep_last", "keep_days"), [(0, None), (None, 0), (-1, 3)])
def test_a_policy_keeping_nothing_is_refused(keep_last: int | None, keep_days: int | None) -> None:
    with pytest.raises(InvalidCommand, match="at least one"):
        RetentionPolicy(keep_last=keep_last, keep_days=keep_days)


policies = st.builds(
    RetentionPolicy,
    keep_last=st.one_of(st.none(), st.integers(1, 5)),
    keep_days=st.one_of(st.none(), st.integers(1, 30)),
)


def backups_of(
    states: st.SearchStrategy[str], prefix: str
) -> st.SearchStrategy[list[StoredBackup]]:
    entry = st.tuples(st.floats(0, 60, allow_nan=False), states)
    return st.lists(entry, max_size=12).map(
        lambda entries: [
            backup(f"{prefix}{n}", age, state) for n, (age, state) in enumerate(entries)
        ]
    )


any_backups = backups_of(st.sampled_from(list(STATES)), "b")


@given(policies, any_backups)
def test_the_newest_verified_backup_always_survives(
    policy: RetentionPolicy, backups: list[StoredBackup]
) -> None:
    verified = [b for b in backups if b.verified and not b.failed]
    deleted = to_delete(policy, backups, NOW)
    if verified:
        newest = max(verified, key=lambda b: (b.taken_at, b.id))
        assert newest.id not in deleted
    assert len(deleted) < len(backups) or not verified


@given(policies, any_backups)
def test_deciding_again_after_deleting_deletes_nothing_more(
    policy: RetentionPolicy, backups: list[StoredBackup]
) -> None:
    deleted = set(to_delete(policy, backups, NOW))
    survivors = [b for b in backups if b.id not in deleted]
    assert to_delete(policy, survivors, NOW) == []


@given(policies, any_backups, backups_of(st.just("failed"), "extra"))
def test_more_failed_backups_change_nothing_for_the_others(
    policy: RetentionPolicy, backups: list[StoredBackup], failed: list[StoredBackup]
) -> None:
    before = set(to_delete(policy, backups, NOW))
    after = set(to_delete(policy, backups + failed, NOW))
    assert after - {b.id for b in failed} == before


@given(
    policies.filter(lambda p: p.keep_days is not None),
    any_backups,
    st.lists(st.tuples(st.floats(0, 1), st.sampled_from(list(STATES))), max_size=8),
)
def test_more_backups_younger_than_the_cut_never_cost_a_young_or_a_kept_verified_one(
    policy: RetentionPolicy,
    backups: list[StoredBackup],
    young: list[tuple[float, str]],
) -> None:
    assert policy.keep_days is not None
    cut = NOW - timedelta(days=policy.keep_days)
    extra = [
        backup(f"young{n}", fraction * policy.keep_days * 0.999, state)
        for n, (fraction, state) in enumerate(young)
    ]
    before = set(to_delete(policy, backups, NOW))
    after = set(to_delete(policy, backups + extra, NOW))
    everything = {b.id: b for b in backups + extra}
    assert all(everything[name].taken_at <= cut for name in after)
    # Only a newer verified backup can supersede a verified one that was kept.
    if not any(state == "verified" for _, state in young):
        kept_verified = {b.id for b in backups if b.state == "verified"} - before
        assert not kept_verified & after
        if policy.keep_last is None:
            assert after == before
