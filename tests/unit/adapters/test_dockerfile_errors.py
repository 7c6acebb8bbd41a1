"""Dockerfile mistakes in one sentence: the line and the instruction, from Docker's words (which
name the line) or Podman's (which do not)."""

from __future__ import annotations

from rivetr.adapters.builders.dockerfile_errors import instruction_lines, unknown_instruction

DOCKERFILE = "FROM base\n# note\nRUN a \\\n  && b\n\nCOPYY . /app\n"
SENTENCE = (
    "line 6 of Dockerfile has an unknown instruction COPYY: `COPYY . /app`; did you mean COPY?"
)


def test_instructions_are_numbered_where_they_start() -> None:
    assert [(n, word) for n, word, _ in instruction_lines(DOCKERFILE)] == [
        (1, "FROM"),
        (3, "RUN"),
        (6, "COPYY"),
    ]


def test_dockers_words_give_the_line() -> None:
    docker = "build of x failed: dockerfile parse error line 6: unknown instruction: COPYY"

    assert unknown_instruction(DOCKERFILE, docker, "Dockerfile") == SENTENCE


def test_podmans_words_are_matched_to_their_line() -> None:
    podman = (
        'build of x failed: building at STEP "COPYY . /app": Build error: Unknown instruction:'
        ' "COPYY" &imagebuilder.Step{Command:"copyy"}'
    )

    assert unknown_instruction(DOCKERFILE, podman, "Dockerfile") == SENTENCE


def test_a_word_like_no_instruction_is_to_be_fixed_or_removed() -> None:
    said = unknown_instruction("FROM a\nFROBNICATE x\n", "unknown instruction: FROBNICATE")

    assert said == (
        "line 2 of the Dockerfile has an unknown instruction FROBNICATE: `FROBNICATE x`;"
        " fix or remove it"
    )


def test_other_failures_are_left_as_the_engine_said_them() -> None:
    assert unknown_instruction(DOCKERFILE, "returned a non-zero code: 3") is None
