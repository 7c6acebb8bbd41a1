"""Job definitions: a name unique within its app (or its stack's service), bad cron
expressions, time zones, commands and limits refused naming the field, a change recording only
what differs, and every command needing the permission its effect does."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rivetr.domain.access import Permission, required_permission
from rivetr.domain.errors import AlreadyExists, InvalidCommand, NotFound
from rivetr.domain.job_commands import ChangeJob, CreateJob, DeleteJob, RunJob
from rivetr.domain.job_events import JobChanged, JobCreated, JobDeleted
from rivetr.domain.jobs import JobsState, decide, decide_create, find, fold

OWNER = "abcdefghijkl"


def create(**fields: object) -> CreateJob:
    given = {"app": "web", "name": "nightly", "command": "echo hi", "schedule": "0 3 * * *"}
    return CreateJob(**{**given, **fields})  # type: ignore[arg-type]


def made(*commands: CreateJob) -> JobsState:
    state = JobsState(owner_id=OWNER)
    for number, command in enumerate(commands):
        events = decide_create(state, command, f"job{number}", "app")
        state = fold(OWNER, [*_events(state), *events])
    return state


def _events(state: JobsState) -> list[JobCreated]:
    return [
        JobCreated(owner_id=OWNER, **msgspec.structs.asdict(job))  # type: ignore[arg-type]
        for job in state.jobs
    ]


def test_a_job_is_created_with_its_schedule_in_normal_form() -> None:
    (event,) = decide_create(JobsState(owner_id=OWNER), create(schedule="@daily"), "j1", "app")
    assert isinstance(event, JobCreated)
    assert (event.job_id, event.owner_id, event.schedule) == ("j1", OWNER, "0 0 * * *")
    assert (event.overlap, event.on_missed, event.retries, event.enabled) == (
        "forbid",
        "skip",
        0,
        True,
    )


def test_a_name_is_unique_per_app_but_not_across_a_stacks_services() -> None:
    state = made(create())
    with pytest.raises(AlreadyExists) as refused:
        decide_create(state, create(command=["true"]), "j2", "app")
    assert refused.value.field == "name"
    stack = JobsState(owner_id=OWNER)
    for service, job_id in (("db", "a"), ("web", "b")):
        command = create(app=None, stack_id=OWNER, service=service)
        stack = fold(OWNER, [*_events(stack), *decide_create(stack, command, job_id, "stack")])
    assert find(stack, "db", "nightly") is not None
    assert find(stack, "web", "nightly") is not None
    assert find(stack, None, "nightly") is None


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"schedule": "61 * * * *"}, "schedule", "minute field '61'"),
        ({"schedule": "* * *"}, "schedule", "five fields"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "IANA"),
        ({"command": "   "}, "command", "empty"),
        ({"command": "echo a\necho b"}, "command", "one line"),
        ({"command": [""]}, "command", "first word"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    fields: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        decide_create(JobsState(owner_id=OWNER), create(**fields), "j", "app")
    assert refused.value.field == field
    assert words in str(refused.value)


@pytest.mark.parametrize(
    "body",
    [
        {"timeout_s": 0},
        {"timeout_s": 8 * 86400},
        {"retries": 11},
        {"overlap": "sometimes"},
        {"on_missed": "later"},
        {"command": []},
        {"name": "Not A Label"},
    ],
)
def test_limits_are_refused_when_decoded(body: dict[str, object]) -> None:
    whole = {"app": "web", "name": "n", "command": "true", "schedule": "@hourly", **body}
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(whole, CreateJob)


def test_a_job_belongs_to_an_app_or_to_a_stacks_service() -> None:
    with pytest.raises(InvalidCommand) as neither:
        create(app=None)
    assert neither.value.field == "app"
    with pytest.raises(InvalidCommand) as no_service:
        create(app=None, stack_id=OWNER)
    assert no_service.value.field == "service"
    with pytest.raises(InvalidCommand):
        create(service="web")


def test_a_change_records_only_what_differs() -> None:
    state = made(create())
    same = ChangeJob(app="web", job="nightly", schedule="0 3  * * *", retries=0)
    assert decide(state, same) == []
    (changed,) = decide(state, ChangeJob(app="web", job="nightly", retries=2, enabled=False))
    assert changed == JobChanged(job_id="job0", retries=2, enabled=False)
    after = fold(OWNER, [*_events(state), changed])
    assert (after.jobs[0].retries, after.jobs[0].enabled) == (2, False)


def test_a_changed_time_zone_is_checked_with_the_schedule() -> None:
    state = made(create())
    with pytest.raises(InvalidCommand) as refused:
        decide(state, ChangeJob(app="web", job="nightly", time_zone="Nowhere/Else"))
    assert refused.value.field == "time_zone"


def test_changing_or_deleting_an_unknown_job_names_it() -> None:
    with pytest.raises(NotFound) as missing:
        decide(made(), DeleteJob(app="web", job="nightly"))
    assert missing.value.field == "job"
    (deleted,) = decide(made(create()), DeleteJob(app="web", job="nightly"))
    assert deleted == JobDeleted(job_id="job0")
    assert fold(OWNER, [*_events(made(create())), deleted]).jobs == ()


def test_reading_changing_and_running_jobs_need_what_their_effect_needs() -> None:
    assert required_permission(create()) is Permission.EDIT_APPS
    assert required_permission(ChangeJob(app="web", job="j")) is Permission.EDIT_APPS
    assert required_permission(DeleteJob(app="web", job="j")) is Permission.EDIT_APPS
    assert required_permission(RunJob(app="web", job="j")) is Permission.DEPLOY


words = st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=20)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from([None, "web", "db"]),
            st.one_of(words, st.lists(words, min_size=1, max_size=3)),
        ),
        max_size=12,
    )
)
def test_names_stay_unique_whatever_is_asked(asked: list[tuple[str, str | None, object]]) -> None:
    state = JobsState(owner_id=OWNER)
    history: list[JobCreated] = []
    for number, (name, service, command) in enumerate(asked):
        kind = {"app": "web"} if service is None else {"stack_id": OWNER, "service": service}
        try:
            wanted = CreateJob(**kind, name=name, command=command, schedule="@hourly")  # type: ignore[arg-type]
            events = decide_create(state, wanted, f"j{number}", "app")
        except (AlreadyExists, InvalidCommand):
            continue
        history += events  # type: ignore[arg-type]
        state = fold(OWNER, history)
    places = [(job.service, job.name) for job in state.jobs]
    assert len(places) == len(set(places))
    assert all(
        isinstance(job.command, list) or (job.command.strip() and "\n" not in job.command)
        for job in state.jobs
    )
