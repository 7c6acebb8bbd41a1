"""Rivetr: a small self-hosted deployment engine built on an append-only event log."""

__version__ = "0.1.0"
