"""A private repository's credentials as the app and stack settings forms type them: write-only
inputs (left empty, what is set stays) and, for one that is set, a box to remove it."""

from __future__ import annotations

CREDENTIALS = ("git_token", "deploy_key")  # never shown back, not even after a refusal


def typed_credentials(form: object) -> dict[str, str | None]:
    """The credentials `form` gives: each typed, or None where its remove box is ticked (a
    form without those boxes, a new app's or stack's, only types them)."""
    given: dict[str, str | None] = {}
    for which in CREDENTIALS:
        if getattr(form, f"{which}_remove", ""):
            given[which] = None
        elif (value := getattr(form, which).strip()) != "":
            given[which] = value
    return given
