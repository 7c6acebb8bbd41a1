"""Hostile compose files, made in memory: what the reader's bounds are tested and measured
against (tests/unit/domain/compose/test_yaml_source.py, benchmarks/compose_bounds.py)."""

from __future__ import annotations


def billion_laughs() -> bytes:
    """Ten levels of nine aliases: 10**9 nodes once expanded, 448 bytes written."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 10):
        name, previous = chr(ord("a") + index), chr(ord("a") + index - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines).encode()


def deep_anchors() -> bytes:
    """Each anchor a mapping of two aliases to the one before: 2**60 nodes expanded."""
    lines = ["a0: &a0 {k: v}"]
    lines += [f"a{i}: &a{i} {{l: *a{i - 1}, r: *a{i - 1}}}" for i in range(1, 61)]
    return "\n".join(lines).encode()


def nested(depth: int) -> bytes:
    return b"a: " + b"[" * depth + b"]" * depth


def services(count: int) -> bytes:
    """`count` services of six keys each, as a real file writes them."""
    body = "".join(
        f"  service-{i}:\n    image: registry.example.com/team/service-{i}:1.2.{i}\n"
        f"    command: [serve, --port, '80{i % 100:02d}']\n"
        f"    environment: [MODE=production, INDEX={i}, URL=http://service-{i}:8080]\n"
        f"    ports: ['127.0.0.1:{10000 + i}:8080']\n"
        f"    volumes: ['data-{i}:/var/lib/service', './conf/{i}:/etc/service:ro']\n"
        f"    labels: {{team: platform, tier: backend, index: '{i}'}}\n"
        for i in range(count)
    )
    return f"services:\n{body}".encode()
