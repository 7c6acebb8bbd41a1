"""Password hashes never leave in an export: the line carries a marker and says it is redacted,
and still verifies, its place in the chain checked through the hash it carries. Tampering with
any other line is caught as before; tampering with a redacted one as far as its neighbours and
the redaction's own rules can tell. Exports made before redaction still verify."""

from __future__ import annotations

import json
from collections.abc import Callable

import msgspec
import pytest

from rivetr.adapters.eventstore.base import ANY_VERSION, EventMeta, LoggedEvent
from rivetr.adapters.eventstore.chain import ChainBroken, ChainReport, verify_export
from rivetr.adapters.eventstore.export import ExportedEvent, export_lines, read_jsonl_export
from rivetr.adapters.eventstore.memory import InMemoryEventStore
from rivetr.adapters.eventstore.redaction import REDACTED, shown
from rivetr.domain.events import AppCreated, AppEnvChanged, TokenCreated, UserCreated

pytestmark = pytest.mark.anyio
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def a_log() -> InMemoryEventStore:
    """Positions 1 (a token), 2 (ann, with her password hash), 3 (an app), 4 (bob), 5 (a token)."""
    store = InMemoryEventStore()
    admin = EventMeta(actor="admin")
    made = TokenCreated(token_id="t1", name="ci", secret_hash="ab" * 32, scope="admin")
    await store.append("token-t1", ANY_VERSION, [made], admin)
    for email in ("ann@example.com", None, "bob@example.com"):
        if email is None:
            app = AppCreated(app_id="a1", name="web", team="default")
            meta = EventMeta(actor="admin", resource="a1")
            await store.append("app-a1", ANY_VERSION, [app], meta)
            continue
        user = UserCreated(user_id=email, email=email, password_hash=HASH, role="owner")
        await store.append(f"user-{email}", ANY_VERSION, [user], admin)
    later = TokenCreated(token_id="t2", name="cd", secret_hash="cd" * 32, scope="read")
    await store.append("token-t2", ANY_VERSION, [later], admin)
    return store


async def exported(
    store: InMemoryEventStore, fmt: str = "jsonl", keep: Callable[[LoggedEvent], bool] | None = None
) -> list[str]:
    return [line async for line in export_lines(store, fmt, keep=keep)]  # type: ignore[arg-type]


def verify(lines: list[str], filtered: bool = False) -> ChainReport:
    return verify_export(read_jsonl_export(line.encode() for line in lines), filtered=filtered)


def edit(lines: list[str], index: int, change: Callable[[dict[str, object]], None]) -> list[str]:
    row = json.loads(lines[index])
    change(row)
    return [*lines[:index], json.dumps(row), *lines[index + 1 :]]


async def test_a_full_export_carries_no_password_hash_and_still_verifies() -> None:
    lines = await exported(await a_log())
    assert not any("$argon2" in line for line in lines)
    ann = json.loads(lines[1])
    assert ann["data"]["password_hash"] == REDACTED
    assert ann["redacted"] == ["password_hash"]
    assert "redacted" not in json.loads(lines[0])  # other lines are as they always were
    assert verify(lines) == ChainReport(count=5, gaps=0, redacted=2)


async def test_a_tampered_line_that_was_not_redacted_still_fails() -> None:
    lines = await exported(await a_log())
    tampered = edit(lines, 2, lambda row: row.update(actor="mallory"))
    with pytest.raises(ChainBroken) as broken:
        verify(tampered)
    assert (broken.value.position, broken.value.reason) == (
        3,
        "hash does not match the event's content",
    )


@pytest.mark.parametrize(
    ("change", "position", "reason"),
    [
        # its carried hash no longer links to the next line's prev_hash
        (lambda row: row.update(hash="f" * 64), 3, "prev_hash does not match the previous event"),
        (lambda row: row.update(prev_hash="f" * 64), 2, "prev_hash does not match"),
        # a redaction the server does not make: another field, another type, another marker
        (lambda row: row.update(redacted=["email"]), 2, "only password hashes are"),
        (lambda row: row.update(type="app.created"), 2, "carries no password hash"),
        (lambda row: row["data"].update(password_hash="x"), 2, "is not 'redacted'"),
        # and a line made to look unredacted is checked by its hash, which fails
        (lambda row: row.pop("redacted"), 2, "hash does not match"),
    ],
)
async def test_tampering_with_a_redacted_line_is_caught_as_far_as_it_can_be(
    change: Callable[[dict[str, object]], None], position: int, reason: str
) -> None:
    lines = await exported(await a_log())
    with pytest.raises(ChainBroken) as broken:
        verify(edit(lines, 1, change))
    assert broken.value.position == position
    assert reason in broken.value.reason


async def test_a_redacted_lines_other_content_is_not_proven_and_the_report_says_how_many() -> None:
    lines = await exported(await a_log())
    # the chain's hash covered the password hash too: with it gone, the rest cannot be checked
    forged = edit(lines, 1, lambda row: row["data"].update(role="viewer"))
    assert verify(forged).redacted == 2


async def test_a_redacted_line_cannot_hide_a_tampered_event_of_another_type() -> None:
    lines = await exported(await a_log())

    def disguise(row: dict[str, object]) -> None:
        row["data"] = {**row["data"], "password_hash": REDACTED}  # type: ignore[dict-item]
        row["redacted"] = ["password_hash"]
        row["actor"] = "mallory"

    with pytest.raises(ChainBroken, match="carries no password hash") as broken:
        verify(edit(lines, 2, disguise))
    assert broken.value.position == 3


async def test_a_filtered_export_is_redacted_and_verifies_with_its_gaps() -> None:
    store = await a_log()
    users = await exported(store, keep=lambda event: event.type == "user.created")
    assert [json.loads(line)["position"] for line in users] == [2, 4]
    assert not any("$argon2" in line for line in users)
    assert verify(users, filtered=True) == ChainReport(count=2, gaps=1, redacted=2)


async def test_an_export_made_before_redaction_still_verifies() -> None:
    store = await a_log()
    older = []
    for event in await store.read_all():
        fields = msgspec.structs.asdict(event)
        fields["data"] = msgspec.Raw(event.data)
        older.append(msgspec.json.encode(ExportedEvent(**fields)).decode())
    assert "$argon2" in older[1]
    assert verify(older) == ChainReport(count=5, gaps=0, redacted=0)


async def test_a_csv_export_says_which_fields_it_redacted() -> None:
    rows = await exported(await a_log(), "csv")
    assert rows[0].rstrip().endswith(",redacted")
    assert not any("$argon2" in row for row in rows)
    assert rows[2].rstrip().endswith(",password_hash")
    assert rows[1].rstrip().endswith(",")


def test_a_body_shown_to_a_person_has_no_password_hash_and_no_sealed_value() -> None:
    user = msgspec.json.encode(UserCreated(user_id="a", email="a", password_hash=HASH))
    assert shown(user)["password_hash"] == REDACTED
    env = AppEnvChanged(name="web", set={"DB": "rvs2:k1:abc", "PLAIN": "x"})
    assert shown(msgspec.json.encode(env))["set"] == {"DB": "sealed", "PLAIN": "x"}
