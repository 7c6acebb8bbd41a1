"""Which of a target's backups retention deletes: the newest by count and the young by age are
kept, only verified backups count, and the newest verified backup is never deleted.

The rules, chosen so that a run of failing backups can never cost the last good one (dokploy
deleted every backup when its retention counted failed ones, dokploy#3855):

- A backup is *verified* (read back and restored), *unverified* (stored, not or not yet
  verified: verification may be off or still running) or *failed* (failed, partial, or
  failed its verification; failed wins over a `verified` flag).
- `keep_last=N` keeps the N newest verified backups. Unverified backups never take a verified
  one's place; they are counted apart, the N newest of them kept, so an instance that does not
  verify still keeps N backups and does not pile them up without end.
- `keep_days=D` keeps every backup taken less than D days before now, failed ones included
  (recent failures stay to be looked at). A failed backup is kept by nothing else.
- The newest verified backup is kept whatever the policy says, and the decision says so.
- No policy (both None) keeps everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rivetr.domain.errors import InvalidCommand

NEWEST_VERIFIED = "the newest verified backup is never deleted"


@dataclass(frozen=True)
class StoredBackup:
    """One backup on a target, as retention sees it."""

    id: str
    taken_at: datetime
    verified: bool = False
    failed: bool = False

    @property
    def state(self) -> str:
        if self.failed:
            return "failed"
        return "verified" if self.verified else "unverified"


@dataclass(frozen=True)
class RetentionPolicy:
    """How many verified backups a target keeps, and for how long it keeps any."""

    keep_last: int | None = None
    keep_days: int | None = None

    def __post_init__(self) -> None:
        if self.keep_last is not None and self.keep_last < 1:
            raise InvalidCommand("keep_last must keep at least one backup", field="keep_last")
        if self.keep_days is not None and self.keep_days < 1:
            raise InvalidCommand("keep_days must be at least one day", field="keep_days")


@dataclass(frozen=True)
class Verdict:
    """What retention decided for one backup, and every reason it had."""

    backup: StoredBackup
    keep: bool
    reasons: tuple[str, ...]


def decide(policy: RetentionPolicy, backups: list[StoredBackup], now: datetime) -> list[Verdict]:
    """A verdict for each of `backups`, newest first, each with the reasons for it.

    Args:
        policy: The target's retention policy.
        backups: Every finished backup on the target, in any order.
        now: The moment ages are measured from.
    """
    newest_first = sorted(backups, key=lambda b: (b.taken_at, b.id), reverse=True)
    newest_verified = next((b for b in newest_first if b.state == "verified"), None)
    cut = None if policy.keep_days is None else now - timedelta(days=policy.keep_days)
    ranks = {"verified": 0, "unverified": 0, "failed": 0}
    verdicts = []
    for backup in newest_first:
        ranks[backup.state] += 1
        kept_by, refused_by = [], []
        if policy.keep_last is None and policy.keep_days is None:
            kept_by.append("no retention policy: every backup is kept")
        if policy.keep_last is not None:
            if backup.state == "failed":
                refused_by.append("a failed backup never counts towards keep_last")
            elif ranks[backup.state] <= policy.keep_last:
                kept_by.append(f"{_ordinal(ranks[backup.state])} {backup.state} backup (keep_last)")
            else:
                refused_by.append(f"not among the {policy.keep_last} newest {backup.state} ones")
        if cut is not None:
            if backup.taken_at > cut:
                kept_by.append(f"younger than {policy.keep_days} days (keep_days)")
            else:
                refused_by.append(f"older than {policy.keep_days} days")
        if backup is newest_verified:
            kept_by.append(NEWEST_VERIFIED + ("" if kept_by else ", whatever the policy says"))
        verdicts.append(Verdict(backup, bool(kept_by), tuple(kept_by or refused_by)))
    return verdicts


def to_delete(policy: RetentionPolicy, backups: list[StoredBackup], now: datetime) -> list[str]:
    """The ids of the backups `decide` would delete, newest first."""
    return [v.backup.id for v in decide(policy, backups, now) if not v.keep]


def _ordinal(rank: int) -> str:
    if rank == 1:
        return "the newest"
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"the {rank}{suffix} newest"
