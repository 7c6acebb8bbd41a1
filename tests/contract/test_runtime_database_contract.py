"""The runtime contract, continued: what managed databases need (volumes, networks, the
address a port binds, engine health checks, and commands run with their input and output
streamed). Each test runs against the twin, Docker and Podman, as test_runtime_contract's do.

The twin runs nothing: where a test runs a command, it first tells the twin what that command
answers (`FakeRuntime.on_exec`), with the same answer the busybox command gives for real.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import tracemalloc
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest

from rivetr.adapters.runtime.base import (
    ALREADY_CONNECTED,
    ContainerError,
    ContainerInfo,
    EngineHealthcheck,
)
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.execution import EXEC_CHUNK_BYTES, ExecFailed
from rivetr.adapters.runtime.fake_exec import FakeExecAnswer, FakeExecCall
from tests.contract.conftest import Engine

pytestmark = pytest.mark.anyio

BLOB_BYTES = 50_000_000


async def _sleeper(engine: Engine, **overrides: object) -> ContainerInfo:
    """A running busybox container that does nothing, for commands to run in."""
    spec = engine.spec(BUSYBOX_IMAGE, command=["sleep", "600"], ports={}, **overrides)
    return await engine.runtime.run_container(spec)


def _shell(engine: Engine, scripts: dict[str, FakeExecAnswer]) -> None:
    """Teach the twin what `sh -c SCRIPT` answers, for each script a test runs."""
    if engine.fake:
        engine.fake.on_exec("sh", lambda call: scripts[call.argv[2]])


def _ps(engine: Engine) -> None:
    """Teach the twin `ps`: the commands running in the container, one a line."""
    if fake := engine.fake:
        fake.on_exec(
            "ps",
            lambda call: FakeExecAnswer(
                stdout=[
                    " ".join(argv).encode() + b"\n" for argv in fake.running_execs(call.container)
                ]
            ),
        )


async def _running(engine: Engine, container: str, text: str) -> list[str]:
    """The lines of `ps` in `container` that show `text` (but not `ps` itself)."""
    result = await engine.runtime.exec_run(container, ["ps"])
    lines = result.stdout_tail.decode().splitlines()
    return [line for line in lines if text in line and not line.endswith(" ps")]


async def _ended(engine: Engine, container: str, text: str) -> bool:
    """Whether the command showing `text` is gone from `ps`, within 10 s (a killed process
    may take a moment to be reaped)."""
    for _ in range(100):
        if not await _running(engine, container, text):
            return True
        await anyio.sleep(0.1)
    return False


# -- volumes ---------------------------------------------------------------------------------


async def test_a_volume_is_made_once_found_by_its_labels_and_removed(engine: Engine) -> None:
    name, other = engine.name("vol"), engine.name("vol")
    made = await engine.runtime.create_volume(name, {**engine.labels, "rivetr.database": "a"})
    again = await engine.runtime.create_volume(name, {**engine.labels, "rivetr.database": "b"})
    await engine.runtime.create_volume(other, {**engine.labels, "rivetr.database": "b"})

    assert made.name == again.name == name
    assert again.labels["rivetr.database"] == "a"  # made once: the first labels stay
    assert await engine.runtime.volume_exists(name)
    assert [v.name for v in await engine.runtime.list_volumes(engine.labels)] == sorted(
        [name, other]
    )
    only_a = await engine.runtime.list_volumes({**engine.labels, "rivetr.database": "a"})
    assert [v.name for v in only_a] == [name]
    await engine.runtime.remove_volume(name)
    assert not await engine.runtime.volume_exists(name)
    await engine.runtime.remove_volume(name)  # already gone: nothing to do


async def test_a_volume_outlives_its_container_and_is_kept_while_mounted(engine: Engine) -> None:
    volume = engine.name("vol")
    await engine.runtime.create_volume(volume, engine.labels)
    write = "echo kept > /data/file"
    if fake := engine.fake:
        files = fake.volume_files(volume)
        _shell(engine, {write: FakeExecAnswer()})
        fake.on_exec("cat", lambda call: FakeExecAnswer(stdout=[files["file"]]))
    first = await _sleeper(engine, volumes={volume: "/data"})
    assert (await engine.runtime.exec_run(first.id, ["sh", "-c", write])).exit_code == 0
    if engine.fake:
        files["file"] = b"kept\n"  # what the command wrote
    await engine.runtime.remove_container(first.id, force=True)

    second = await _sleeper(engine, volumes={volume: "/srv/data"})
    read = await engine.runtime.exec_run(second.id, ["cat", "/srv/data/file"])

    assert read.stdout_tail == b"kept\n"
    await engine.runtime.stop_container(second.id, timeout_s=1)
    with pytest.raises(ContainerError):  # even a stopped container holds its volumes
        await engine.runtime.remove_volume(volume)
    await engine.runtime.remove_container(second.id)
    await engine.runtime.remove_volume(volume)


async def test_copy_volume_copies_every_file_with_its_mode(engine: Engine) -> None:
    source, target = engine.name("vol"), engine.name("vol")
    await engine.runtime.create_volume(source, engine.labels)
    await engine.runtime.create_volume(target, engine.labels)
    write = "mkdir /data/sub && echo one > /data/a && echo two > /data/sub/b"
    write += " && chmod 600 /data/sub/b"
    read = "cat /data/a /data/sub/b && stat -c %a /data/sub/b"
    _shell(engine, {write: FakeExecAnswer(), read: FakeExecAnswer(stdout=[b"one\ntwo\n600\n"])})
    writer = await _sleeper(engine, volumes={source: "/data"})
    assert (await engine.runtime.exec_run(writer.id, ["sh", "-c", write])).exit_code == 0
    if engine.fake:
        engine.fake.volume_files(source).update({"a": b"one\n", "sub/b": b"two\n"})
    await engine.runtime.remove_container(writer.id, force=True)

    await engine.runtime.copy_volume(source, target, BUSYBOX_IMAGE)

    if engine.fake:
        assert engine.fake.volume_files(target) == {"a": b"one\n", "sub/b": b"two\n"}
    reader = await _sleeper(engine, volumes={target: "/data"})
    copied = await engine.runtime.exec_run(reader.id, ["sh", "-c", read])
    assert copied.stdout_tail == b"one\ntwo\n600\n"
    assert await engine.runtime.list_containers({"rivetr.volume-copy": target}) == []
    with pytest.raises(ContainerError, match="no such volume"):
        await engine.runtime.copy_volume(engine.name("absent"), target, BUSYBOX_IMAGE)


# -- networks and addresses ------------------------------------------------------------------


async def test_containers_on_a_network_reach_each_other_by_alias(engine: Engine) -> None:
    network = engine.network_name("net")
    await engine.runtime.create_network(network, engine.labels)
    await engine.runtime.create_network(network, engine.labels)  # made once
    image = await engine.build_web_image()
    await engine.runtime.run_container(
        engine.spec(image, network=network, aliases=["db-alias"], ports={})
    )
    client = await _sleeper(engine, network=network)
    outsider = await _sleeper(engine)
    _wget_by_name(engine)
    fetch = ["wget", "-q", "-O", "-", "http://db-alias:8080/"]

    answer = await engine.runtime.exec_run(client.id, fetch, timeout_s=30)
    refused = await engine.runtime.exec_run(outsider.id, fetch, timeout_s=30)
    await engine.runtime.connect_network(outsider.id, network, ["late-comer"])
    later = await engine.runtime.exec_run(outsider.id, fetch, timeout_s=30)
    with pytest.raises(ContainerError) as again:  # once is all: callers may tell it by its words
        await engine.runtime.connect_network(outsider.id, network, ["late-comer"])

    assert (answer.exit_code, answer.stdout_tail) == (0, f"hello from {engine.run_id}\n".encode())
    assert refused.exit_code != 0  # the default network knows no such name
    assert later.stdout_tail == answer.stdout_tail
    assert any(words in str(again.value) for words in ALREADY_CONNECTED), again.value
    with pytest.raises(ContainerError):
        await engine.runtime.run_container(
            engine.spec(image, network=engine.name("absent"), ports={})
        )


async def test_networks_are_found_by_their_labels(engine: Engine) -> None:
    ours = {**engine.labels, "rivetr.test-case": engine.name("networks")}
    mine, other = engine.network_name("mine"), engine.network_name("other")
    await engine.runtime.create_network(mine, {**ours, "purpose": "mine"})
    await engine.runtime.create_network(other, ours)

    assert await engine.runtime.list_networks({**ours, "purpose": "mine"}) == [mine]
    assert await engine.runtime.list_networks(ours) == sorted([mine, other])
    await engine.runtime.remove_network(mine)
    assert await engine.runtime.list_networks(ours) == [other]


def _wget_by_name(engine: Engine) -> None:
    """Teach the twin `wget`: a container it reaches by name on one of its networks answers
    this test's web page."""
    if fake := engine.fake:
        page = f"hello from {engine.run_id}\n".encode()

        def wget(call: FakeExecCall) -> FakeExecAnswer:
            host = call.argv[-1].split("/")[2].split(":")[0]
            if host in fake.peers(call.container):
                return FakeExecAnswer(stdout=[page])
            return FakeExecAnswer(exit_code=1, stderr=b"wget: bad address\n")

        fake.on_exec("wget", wget)


async def test_a_port_binds_to_the_address_asked_for(engine: Engine) -> None:
    image = await engine.build_web_image()

    public = await engine.runtime.run_container(engine.spec(image, bind_address="0.0.0.0"))

    assert public.state == "running"
    assert 0 < public.host_ports[8080] < 65536


async def test_an_engine_chosen_port_another_program_holds_is_passed_over(
    real_engine: Engine,
) -> None:
    # Docker hands out ephemeral ports in turn without checking them: hold the next few.
    engine = real_engine
    image = await engine.build_web_image()
    first = await engine.runtime.run_container(engine.spec(image, bind_address="0.0.0.0"))
    await engine.runtime.remove_container(first.id, force=True)
    with contextlib.ExitStack() as held:
        taken = {_hold_port(held, first.host_ports[8080] + step) for step in (1, 2)}

        started = await engine.runtime.run_container(engine.spec(image, bind_address="0.0.0.0"))

    assert started.state == "running"
    assert started.host_ports[8080] not in taken - {None}


def _hold_port(stack: contextlib.ExitStack, port: int) -> int | None:
    """Listen on `port` on every address until `stack` closes; None if it is in use already."""
    listener = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    try:
        listener.bind(("0.0.0.0", port))
    except OSError:
        return None
    listener.listen()
    return port


async def test_a_port_answers_only_on_the_address_it_binds(real_engine: Engine) -> None:
    engine, address = real_engine, _host_address()
    image = await engine.build_web_image()
    answered = {}
    # One at a time, and each checked by its page: engines hand out the same port number on
    # different addresses, so another container (another test's) may hold it on another.
    for bind in ("127.0.0.1", "0.0.0.0", address):
        started = await engine.runtime.run_container(engine.spec(image, bind_address=bind))
        port = started.host_ports[8080]
        await _listening(engine, started.id)
        answered[bind] = (
            await _serves(engine, f"127.0.0.1:{port}"),
            await _serves(engine, f"{address}:{port}"),
        )
        await engine.runtime.remove_container(started.id, force=True)

    assert answered == {"127.0.0.1": (True, False), "0.0.0.0": (True, True), address: (False, True)}


def _host_address() -> str:
    """One of this host's IPv4 addresses other than loopback."""
    words = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=True).stdout
    found = [w for w in words.split() if "." in w and not w.startswith("127.")]
    if not found:
        pytest.skip("this host has no IPv4 address besides loopback")
    return found[0]


async def _listening(engine: Engine, container: str) -> None:
    """Wait until the web server in `container` answers there."""
    fetch = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
    with anyio.fail_after(20):
        while (await engine.runtime.exec_run(container, fetch)).exit_code != 0:  # noqa: ASYNC110
            await anyio.sleep(0.1)


async def _serves(engine: Engine, host_port: str) -> bool:
    """Whether this test's web page is served at `host_port`."""
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            answer = await client.get(f"http://{host_port}/")
        except httpx.HTTPError:
            return False
    return answer.text == f"hello from {engine.run_id}\n"


# -- health checks ---------------------------------------------------------------------------


async def test_the_engine_health_check_moves_from_failing_to_healthy(engine: Engine) -> None:
    check = EngineHealthcheck(test=["test", "-e", "/tmp/ready"], interval_s=0.5, retries=1)
    plain = await _sleeper(engine)
    checked = await _sleeper(engine, healthcheck=check)
    if fake := engine.fake:
        ready: set[str] = set()

        def touch(call: FakeExecCall) -> FakeExecAnswer:
            ready.add(call.container)
            return FakeExecAnswer()

        fake.on_exec("touch", touch)
        fake.on_exec(
            "test", lambda call: FakeExecAnswer(exit_code=int(call.container not in ready))
        )

    assert await engine.runtime.container_health(plain.id) is None
    assert await _health_once_not(engine, checked.id, "starting") == "unhealthy"
    await engine.runtime.exec_run(checked.id, ["touch", "/tmp/ready"])
    assert await _health_once_not(engine, checked.id, "unhealthy") == "healthy"


async def _health_once_not(engine: Engine, container: str, state: str) -> str | None:
    with anyio.fail_after(30):
        while (health := await engine.runtime.container_health(container)) == state:  # noqa: ASYNC110 (the engine sets no event)
            await anyio.sleep(0.2)
    return health


# -- exec ------------------------------------------------------------------------------------


def _blob() -> Iterator[bytes]:
    """The twin's stand-in for 50 MB of random bytes: the same every time."""
    block = hashlib.sha256(b"blob").digest() * 2048
    for start in range(0, BLOB_BYTES, len(block)):
        yield block[: BLOB_BYTES - start]


async def test_exec_output_streams_50_mb_without_holding_them(engine: Engine) -> None:
    container = await _sleeper(engine)
    make = f"head -c {BLOB_BYTES} /dev/urandom > /tmp/blob && sha256sum /tmp/blob"
    if fake := engine.fake:
        digest = hashlib.sha256(b"".join(_blob())).hexdigest()
        _shell(engine, {make: FakeExecAnswer(stdout=[f"{digest}  /tmp/blob\n".encode()])})
        fake.on_exec("cat", lambda call: FakeExecAnswer(stdout=_blob()))
    made = await engine.runtime.exec_run(container.id, ["sh", "-c", make], timeout_s=120)
    expected = made.stdout_tail.split()[0].decode()
    counted, hashed, chunks = 0, hashlib.sha256(), 0
    tracemalloc.start()
    try:
        stream = engine.runtime.exec_output(container.id, ["cat", "/tmp/blob"])
        async for chunk in stream:
            counted += len(chunk)
            hashed.update(chunk)
            chunks += 1
            if chunks % 100 == 0:
                await anyio.sleep(0.01)  # a slow consumer now and then: nothing piles up
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (counted, hashed.hexdigest()) == (BLOB_BYTES, expected)
    assert 0 < stream.peak_buffered_bytes <= EXEC_CHUNK_BYTES
    assert peak < 8 * 2**20  # Python memory while 50 MB went through


async def test_exec_output_loses_no_byte_at_its_start(engine: Engine) -> None:
    # Podman sends a stream's first bytes along with the HTTP answer's headers: once in a few
    # dozen runs, a reader of the bare socket missed them and lost its place in the frames.
    container = await _sleeper(engine)
    if engine.fake:
        engine.fake.on_exec("head", lambda call: FakeExecAnswer(stdout=[b"\0" * 300_000]))
    sizes = []
    for _ in range(40):
        stream = engine.runtime.exec_output(container.id, ["head", "-c", "300000", "/dev/zero"])
        sizes.append(sum([len(chunk) async for chunk in stream]))

    assert sizes == [300_000] * 40


async def test_a_failing_command_raises_exec_failed_after_its_output(engine: Engine) -> None:
    container = await _sleeper(engine)
    script = "echo partial; echo broken >&2; exit 3"
    _shell(engine, {script: FakeExecAnswer(stdout=[b"partial\n"], exit_code=3, stderr=b"broken\n")})
    got: list[bytes] = []

    async def read_all() -> None:
        async for chunk in engine.runtime.exec_output(container.id, ["sh", "-c", script]):
            got.append(chunk)

    with pytest.raises(ExecFailed) as failed:
        await read_all()

    assert b"".join(got) == b"partial\n"
    assert (failed.value.exit_code, failed.value.stderr_tail) == (3, b"broken\n")
    with pytest.raises(ExecFailed) as missing:
        async for _ in engine.runtime.exec_output(container.id, ["no-such-program"]):
            pass
    assert missing.value.exit_code == 127
    assert b"no-such-program" in missing.value.stderr_tail


async def test_exec_input_streams_chunks_to_the_commands_stdin(engine: Engine) -> None:
    container = await _sleeper(engine)
    data = [os.urandom(64 * 1024) for _ in range(64)]  # 4 MB
    if engine.fake:
        engine.fake.on_exec(
            "sha256sum",
            lambda call: FakeExecAnswer(
                stdout=[f"{hashlib.sha256(call.stdin).hexdigest()}  -\n".encode()]
            ),
        )
    _shell(engine, {"exit 4": FakeExecAnswer(exit_code=4)})

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in data:
            yield chunk

    summed = await engine.runtime.exec_input(container.id, ["sha256sum"], chunks())
    with anyio.fail_after(60):  # a command that reads nothing ends the feeding
        refused = await engine.runtime.exec_input(container.id, ["sh", "-c", "exit 4"], chunks())

    assert summed.exit_code == 0
    assert summed.stdout_tail == f"{hashlib.sha256(b''.join(data)).hexdigest()}  -\n".encode()
    assert refused.exit_code == 4


async def test_input_that_fails_midway_raises_its_error_and_kills_the_command(
    engine: Engine,
) -> None:
    container = await _sleeper(engine)
    _ps(engine)

    async def broken() -> AsyncIterator[bytes]:
        yield b"the first part of a dump\n"
        raise ValueError("the backup storage went away")

    with pytest.raises(ValueError, match="storage went away"):
        await engine.runtime.exec_input(container.id, ["sha256sum"], broken())

    assert await _ended(engine, container.id, "sha256sum")


async def test_exec_run_passes_env_and_user_and_kills_what_times_out(engine: Engine) -> None:
    container = await _sleeper(engine)
    script = 'echo "$GREETING"; id -u'
    if engine.fake:
        engine.fake.on_exec(
            "sh",
            lambda call: FakeExecAnswer(
                stdout=[f"{call.env['GREETING']}\n{65534 if call.user else 0}\n".encode()]
            ),
        )
        engine.fake.on_exec("sleep", lambda call: FakeExecAnswer(hangs=True))
    _ps(engine)

    said = await engine.runtime.exec_run(
        container.id, ["sh", "-c", script], env={"GREETING": "hi"}, user="nobody"
    )
    with pytest.raises(TimeoutError):
        await engine.runtime.exec_run(container.id, ["sleep", "77"], timeout_s=1)

    assert (said.exit_code, said.stdout_tail) == (0, b"hi\n65534\n")
    assert await _ended(engine, container.id, "sleep 77")


async def test_closing_exec_output_early_kills_the_command(engine: Engine) -> None:
    container = await _sleeper(engine)
    if engine.fake:
        engine.fake.on_exec("cat", lambda call: FakeExecAnswer(stdout=_blob(), hangs=True))
    _ps(engine)
    stream = engine.runtime.exec_output(container.id, ["cat", "/dev/zero"])

    assert await anext(stream)
    assert await _running(engine, container.id, "/dev/zero") != []
    await stream.aclose()

    assert await _ended(engine, container.id, "/dev/zero")


async def test_exec_in_a_stopped_container_raises_container_error(engine: Engine) -> None:
    container = await _sleeper(engine)
    await engine.runtime.stop_container(container.id, timeout_s=1)

    with pytest.raises(ContainerError):
        await engine.runtime.exec_run(container.id, ["true"])
    with pytest.raises(ContainerError):
        await anext(engine.runtime.exec_output(container.id, ["true"]))
