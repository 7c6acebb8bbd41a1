"""One contract for every container runtime: `FakeRuntime` must behave as `DockerRuntime` does.

Each test runs twice, against the in-memory twin and against the real engine (marked
`integration` and `docker`). HTTP checks of a served page live in tests/integration.
"""

from __future__ import annotations

import subprocess
import threading
import time
from functools import partial

import anyio
import anyio.to_thread
import pytest

from rivetr.adapters.runtime.base import (
    BuildFailed,
    ContainerError,
    ContainerInfo,
    LogLine,
    log_time_ns,
)
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, busybox_rootfs_tar
from tests.contract.conftest import WEB_DOCKERFILE, Engine
from tests.engine import TEST_RUN_LABEL

pytestmark = pytest.mark.anyio


async def test_ping_names_the_engine_and_its_versions(engine: Engine) -> None:
    info = await engine.runtime.ping()

    assert info.kind in ("docker", "podman")
    assert info.version
    assert info.api_version


async def test_build_streams_whole_output_lines_and_returns_the_image_id(engine: Engine) -> None:
    lines: list[str] = []

    tag = await engine.build_web_image(on_output=lines.append)

    assert lines
    assert not any("\n" in line for line in lines)
    assert any(BUSYBOX_IMAGE in line for line in lines)  # the FROM step is echoed
    assert await engine.runtime.image_exists(tag)


async def test_build_returns_the_image_id(engine: Engine) -> None:
    tag = engine.image_tag("web")
    context = engine.context(f"FROM {BUSYBOX_IMAGE}\nLABEL purpose=test\n")

    image_id = await engine.runtime.build_image(context, tag, labels={TEST_RUN_LABEL: "x"})

    assert image_id.startswith("sha256:")
    assert len(image_id) == len("sha256:") + 64


async def test_an_image_id_names_the_image_as_its_tag_does(engine: Engine) -> None:
    tag = engine.image_tag("web")
    context = engine.context(WEB_DOCKERFILE, **{"index.html": "hi\n"})
    image_id = await engine.runtime.build_image(context, tag)

    assert await engine.runtime.image_exists(image_id)
    assert await engine.runtime.image_id(tag) == image_id
    assert await engine.runtime.image_id(image_id) == image_id
    assert await engine.runtime.image_id(engine.image_tag("never-built")) is None
    started = await engine.runtime.run_container(engine.spec(image_id))
    assert started.state == "running"


async def test_a_failing_step_raises_build_failed_with_the_output_so_far(engine: Engine) -> None:
    tag = engine.image_tag("broken")
    context = engine.context(f"FROM {BUSYBOX_IMAGE}\nRUN echo before-the-failure && exit 3\n")
    if engine.fake:
        engine.fake.fail_next_build("returned a non-zero code: 3", ["before-the-failure"])
    streamed: list[str] = []

    with pytest.raises(BuildFailed, match=r"(non-zero code: |exit status )3$") as failure:
        await engine.runtime.build_image(context, tag, on_output=streamed.append)

    assert "before-the-failure" in failure.value.log.splitlines()
    assert "before-the-failure" in streamed
    assert not await engine.runtime.image_exists(tag)


async def test_an_unknown_instruction_raises_build_failed(engine: Engine) -> None:
    context = engine.context(f"FROM {BUSYBOX_IMAGE}\nFROBNICATE everything\n")

    with pytest.raises(BuildFailed, match=r"(?i)unknown instruction.*FROBNICATE"):
        await engine.runtime.build_image(context, engine.image_tag("broken"))


async def test_a_base_image_the_engine_lacks_raises_build_failed(engine: Engine) -> None:
    context = engine.context(f"FROM rivetr-test/{engine.name('absent')}:latest\n")

    with pytest.raises(BuildFailed, match="failed"):
        await engine.runtime.build_image(context, engine.image_tag("orphan"))


async def test_a_missing_dockerfile_raises_build_failed(engine: Engine) -> None:
    context = engine.context(f"FROM {BUSYBOX_IMAGE}\n")

    with pytest.raises(BuildFailed):
        await engine.runtime.build_image(context, engine.image_tag("x"), dockerfile="Nope")


async def test_image_ports_are_the_tcp_ports_the_image_exposes(engine: Engine) -> None:
    tag = engine.image_tag("ports")
    dockerfile = f"FROM {BUSYBOX_IMAGE}\nEXPOSE 9090 8080/tcp\nEXPOSE 5353/udp\n"
    await engine.runtime.build_image(engine.context(dockerfile), tag)

    assert await engine.runtime.image_ports(tag) == [8080, 9090]


async def test_an_image_exposing_nothing_has_no_ports(engine: Engine) -> None:
    tag = engine.image_tag("quiet")
    await engine.runtime.build_image(engine.context(f"FROM {BUSYBOX_IMAGE}\nLABEL a=b\n"), tag)

    assert await engine.runtime.image_ports(tag) == []


async def test_the_ports_of_a_missing_image_raise_container_error(engine: Engine) -> None:
    with pytest.raises(ContainerError):
        await engine.runtime.image_ports(f"rivetr-test/{engine.name('absent')}:latest")


async def test_import_image_makes_an_image_from_a_root_fs_tarball(engine: Engine) -> None:
    ref = engine.image_tag("imported")
    tarball = busybox_rootfs_tar() if not engine.fake else b"a root fs"

    image_id = await engine.runtime.import_image(tarball, ref, cmd=["/bin/sh"])

    assert image_id.startswith("sha256:")
    assert await engine.runtime.image_exists(ref)


async def test_run_starts_the_container_with_its_port_published(engine: Engine) -> None:
    spec = engine.spec(await engine.build_web_image(), env={"GREETING": "hi"})

    started = await engine.runtime.run_container(spec)

    assert started.name == spec.name
    assert started.image == spec.image
    assert started.state == "running"
    assert spec.labels.items() <= started.labels.items()
    assert 0 < started.host_ports[8080] < 65536
    assert await engine.runtime.inspect_container(spec.name) == started
    assert await engine.runtime.inspect_container(started.id) == started


async def test_inspecting_a_missing_container_returns_none(engine: Engine) -> None:
    assert await engine.runtime.inspect_container(engine.name("absent")) is None


async def test_list_containers_matches_every_given_label(engine: Engine) -> None:
    image = await engine.build_web_image()
    app_a = await engine.runtime.run_container(
        engine.spec(image, labels={TEST_RUN_LABEL: engine.run_id, "rivetr.app": "a"})
    )
    app_b = await engine.runtime.run_container(
        engine.spec(image, labels={TEST_RUN_LABEL: engine.run_id, "rivetr.app": "b"})
    )
    await engine.runtime.stop_container(app_b.id)

    only_a = await engine.runtime.list_containers(
        {TEST_RUN_LABEL: engine.run_id, "rivetr.app": "a"}
    )
    both = await engine.runtime.list_containers({TEST_RUN_LABEL: engine.run_id})

    assert [c.id for c in only_a] == [app_a.id]
    assert {c.id for c in both} == {app_a.id, app_b.id}
    assert {c.state for c in both} == {"running", "exited"}
    assert await engine.runtime.list_containers({TEST_RUN_LABEL: engine.name("other")}) == []


async def test_container_logs_return_what_the_process_wrote(engine: Engine) -> None:
    marker = f"hello-{engine.run_id}"
    spec = engine.spec(
        await engine.build_web_image(),
        command=["sh", "-c", f"echo {marker}; exec httpd -f -p 8080 -h /www"],
    )
    started = await engine.runtime.run_container(spec)
    if engine.fake:
        engine.fake.append_log(started.id, f"{marker}\n")

    logs = await _logs_containing(engine, started, marker)

    assert marker in logs.splitlines()


async def test_log_lines_follow_what_the_process_writes_until_it_stops(engine: Engine) -> None:
    red = "\x1b[31mthree\x1b[0m"
    spec = engine.spec(
        await engine.build_web_image(),
        command=[
            "sh",
            "-c",
            "echo one; echo two; sleep 1; printf '\\033[31mthree\\033[0m\\n'; exec sleep 60",
        ],
    )
    started = await engine.runtime.run_container(spec)
    if engine.fake:
        engine.fake.append_log(started.id, "one\ntwo\n")
    got: list[LogLine] = []
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            async for line in engine.runtime.log_lines(started.id, tail=-1, follow=True):
                got.append(line)
                if line.text == "two" and engine.fake:
                    await anyio.sleep(0.01)  # as the real process does, a while later
                    engine.fake.append_log(started.id, f"{red}\n")
                if line.text == red:  # the stream ends when the container stops
                    group.start_soon(partial(engine.runtime.stop_container, started.id, 1))

    assert [line.text for line in got] == ["one", "two", red]
    times = [log_time_ns(line.at) for line in got]
    assert times == sorted(times)
    assert abs(times[0] / 1e9 - time.time()) < 60
    last = [line.text async for line in engine.runtime.log_lines(started.id, tail=1)]
    assert last == [red]
    since = log_time_ns(got[2].at) / 1e9 - 0.0005
    assert [
        line.text async for line in engine.runtime.log_lines(started.id, tail=-1, since=since)
    ] == [red]
    with pytest.raises(ContainerError):
        async for _ in engine.runtime.log_lines(engine.name("absent"), tail=10):
            pass


async def test_a_line_longer_than_the_engines_buffer_comes_whole(engine: Engine) -> None:
    spec = engine.spec(
        await engine.build_web_image(),
        command=["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' a; echo; echo short"],
    )
    started = await engine.runtime.run_container(spec)
    if engine.fake:
        engine.fake.append_log(started.id, "a" * 40000 + "\nshort\n")
    with anyio.fail_after(20):
        while True:
            lines = [line async for line in engine.runtime.log_lines(started.id, tail=-1)]
            if len(lines) >= 2:
                break
            await anyio.sleep(0.1)
    assert [line.text for line in lines] == ["a" * 40000, "short"]
    log_time_ns(lines[0].at)


async def test_a_follower_that_leaves_early_lets_go_of_the_engine(engine: Engine) -> None:
    spec = engine.spec(
        await engine.build_web_image(), command=["sh", "-c", "echo ready; exec sleep 60"]
    )
    started = await engine.runtime.run_container(spec)
    if engine.fake:
        engine.fake.append_log(started.id, "ready\n")
    followed = engine.runtime.log_lines(started.id, tail=-1, follow=True)
    with anyio.fail_after(20):
        assert (await anext(followed)).text == "ready"
        reading = [t for t in threading.enumerate() if t.name == f"logs {started.id}"]
        assert len(reading) == (0 if engine.fake else 1)  # a real engine's stream has a reader
        await followed.aclose()  # type: ignore[attr-defined]
        while any(t.is_alive() for t in reading):  # noqa: ASYNC110 (a thread sets no event)
            await anyio.sleep(0.05)
    assert (await engine.runtime.inspect_container(started.id)).state == "running"


async def test_stop_leaves_an_exited_container_without_published_ports(engine: Engine) -> None:
    started = await engine.runtime.run_container(engine.spec(await engine.build_web_image()))

    with anyio.fail_after(5):  # an init as PID 1 makes httpd stop at once, not at the timeout
        await engine.runtime.stop_container(started.name, timeout_s=10)
    await engine.runtime.stop_container(started.name)  # stopping twice is fine

    stopped = await engine.runtime.inspect_container(started.name)
    assert stopped is not None
    assert stopped.state == "exited"
    assert stopped.host_ports == {}


async def test_a_stopped_container_starts_again_as_it_was_made(engine: Engine) -> None:
    spec = engine.spec(await engine.build_web_image())
    started = await engine.runtime.run_container(spec)
    await engine.runtime.stop_container(started.name, timeout_s=5)

    again = await engine.runtime.start_container(started.name)
    assert (again.id, again.state, again.labels) == (started.id, "running", started.labels)
    assert set(again.host_ports) == set(spec.ports)  # published anew
    assert (await engine.runtime.start_container(started.name)).state == "running"  # no-op
    with pytest.raises(ContainerError):
        await engine.runtime.start_container("rivetr-no-such-container")


async def test_remove_refuses_a_running_container_unless_forced(engine: Engine) -> None:
    started = await engine.runtime.run_container(engine.spec(await engine.build_web_image()))

    with pytest.raises(ContainerError):
        await engine.runtime.remove_container(started.name)
    await engine.runtime.remove_container(started.name, force=True)

    assert await engine.runtime.inspect_container(started.name) is None
    await engine.runtime.remove_container(started.name)  # already gone: nothing to do


async def test_remove_takes_a_stopped_container(engine: Engine) -> None:
    started = await engine.runtime.run_container(engine.spec(await engine.build_web_image()))
    await engine.runtime.stop_container(started.id)

    await engine.runtime.remove_container(started.id)

    assert await engine.runtime.inspect_container(started.id) is None


async def test_a_container_name_is_taken_only_once(engine: Engine) -> None:
    spec = engine.spec(await engine.build_web_image())
    await engine.runtime.run_container(spec)

    with pytest.raises(ContainerError):
        await engine.runtime.run_container(spec)


async def test_a_container_that_cannot_start_is_not_left_behind(engine: Engine) -> None:
    image = await engine.build_web_image()
    first = await engine.runtime.run_container(engine.spec(image))
    clash = engine.spec(image, ports={8080: first.host_ports[8080]})  # that port is taken

    with pytest.raises(ContainerError):
        await engine.runtime.run_container(clash)

    assert await engine.runtime.inspect_container(clash.name) is None


async def test_running_a_missing_image_raises_container_error(engine: Engine) -> None:
    spec = engine.spec(f"rivetr-test/{engine.name('absent')}:latest")

    with pytest.raises(ContainerError, match="not found"):
        await engine.runtime.run_container(spec)

    assert await engine.runtime.inspect_container(spec.name) is None


async def test_operations_on_a_missing_container_raise_container_error(engine: Engine) -> None:
    absent = engine.name("absent")

    with pytest.raises(ContainerError):
        await engine.runtime.stop_container(absent)
    with pytest.raises(ContainerError):
        await engine.runtime.container_logs(absent)


async def test_remove_image_refuses_an_image_a_container_uses(engine: Engine) -> None:
    image = await engine.build_web_image()
    started = await engine.runtime.run_container(engine.spec(image))
    await engine.runtime.stop_container(started.id)

    with pytest.raises(ContainerError):
        await engine.runtime.remove_image(image)
    await engine.runtime.remove_container(started.id)
    await engine.runtime.remove_image(image)

    assert not await engine.runtime.image_exists(image)
    await engine.runtime.remove_image(image)  # already gone: nothing to do


async def test_list_images_finds_the_images_carrying_every_label(engine: Engine) -> None:
    tagged = {}
    for which in ("a", "b"):
        tag = engine.image_tag(which)
        context = engine.context(f"FROM {BUSYBOX_IMAGE}\nLABEL which={which}\n")
        labels = {TEST_RUN_LABEL: engine.run_id, "rivetr.app": which}
        tagged[which] = (tag, await engine.runtime.build_image(context, tag, labels=labels))

    mine = await engine.runtime.list_images({TEST_RUN_LABEL: engine.run_id})
    only_a = await engine.runtime.list_images({TEST_RUN_LABEL: engine.run_id, "rivetr.app": "a"})

    assert sorted((i.id, i.tags) for i in mine) == sorted(
        (image_id, [tag]) for tag, image_id in tagged.values()
    )
    assert [(i.id, i.tags) for i in only_a] == [(tagged["a"][1], [tagged["a"][0]])]
    assert only_a[0].labels[TEST_RUN_LABEL] == engine.run_id
    assert await engine.runtime.list_images({TEST_RUN_LABEL: "no-such-run"}) == []


async def _logs_containing(engine: Engine, container: ContainerInfo, text: str) -> str:
    # The process writes a moment after the engine reports it started: poll for up to 10 s.
    for _ in range(200):
        logs = await engine.runtime.container_logs(container.id)
        if text in logs:
            break
        await anyio.sleep(0.05)
    return logs


async def test_a_cancelled_build_stops_in_the_engine_too(real_engine: Engine) -> None:
    engine = real_engine
    tag = engine.image_tag("slow")
    context = engine.context(f"FROM {BUSYBOX_IMAGE}\nRUN sleep 300\n")
    sleeping = threading.Event()

    def on_output(line: str) -> None:
        if "sleep 300" in line:
            sleeping.set()

    async with anyio.create_task_group() as group:
        group.start_soon(partial(engine.runtime.build_image, context, tag, on_output=on_output))
        await anyio.to_thread.run_sync(sleeping.wait, 60)
        await anyio.sleep(1)  # the RUN step's container is up
        started = time.monotonic()
        group.cancel_scope.cancel()

    assert time.monotonic() - started < 15
    kind = (await engine.runtime.ping()).kind
    for _ in range(100):  # the engine notices the closed connection and kills the step
        if not _containers_running(kind, "sleep 300"):
            break
        await anyio.sleep(0.2)
    assert not _containers_running(kind, "sleep 300")
    assert not await engine.runtime.image_exists(tag)


def _containers_running(kind: str, command: str) -> list[str]:
    cli = "/usr/bin/podman" if kind == "podman" else "/usr/bin/docker"
    out = subprocess.run(
        [cli, "ps", "--no-trunc", "--format", "{{.ID}} {{.Command}}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [line for line in out.splitlines() if command in line]


BUSY_LOOP = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"  # some CPU time to count


async def test_stats_read_a_running_containers_cpu_and_memory(engine: Engine) -> None:
    spec = engine.spec(
        await engine.build_web_image(),
        command=[
            "sh",
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec httpd -f -p 8080 -h /www",
        ],
    )
    started = await engine.runtime.run_container(spec)

    first = await engine.runtime.container_stats(started.id)
    await anyio.sleep(0.3)
    second = await engine.runtime.container_stats(started.id)

    assert 0 < first.memory_bytes < 512 * 2**20
    assert 0 < first.cpu_ns <= second.cpu_ns  # cumulative: it never goes back
    assert first.memory_limit_bytes is None or first.memory_limit_bytes > first.memory_bytes
    await engine.runtime.stop_container(started.id, timeout_s=1)
    with pytest.raises(ContainerError):
        await engine.runtime.container_stats(started.id)
