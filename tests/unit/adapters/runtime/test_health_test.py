"""The health check each engine is given: Podman 4.3 splits a `CMD` test at whitespace."""

from __future__ import annotations

import shlex

import pytest

from rivetr.adapters.runtime.docker_create import health_test

REDIS_CHECK = ["env", "REDISCLI_AUTH=x", "sh", "-c", '[ "$(redis-cli ping)" = PONG ]']


def test_docker_gets_the_argv_as_it_is() -> None:
    assert health_test(REDIS_CHECK, "docker") == ["CMD", *REDIS_CHECK]


@pytest.mark.parametrize(
    "argv",
    [REDIS_CHECK, ["printf", "%s", ""], ["echo", "tab\\there", "it's", "a\tb", "$(x) `y`"]],
)
def test_podman_gets_a_shell_line_that_gives_back_the_same_argv(argv: list[str]) -> None:
    kind, line = health_test(argv, "podman")
    assert kind == "CMD-SHELL"
    assert shlex.split(line) == argv


def test_podman_gets_an_argv_without_whitespace_as_it_is() -> None:
    # what already worked there (pg_isready's check) stays an exec, needing no shell
    argv = ["env", "PGPASSWORD=a'b\"c", "pg_isready", "--host=127.0.0.1"]
    assert health_test(argv, "podman") == ["CMD", *argv]
