"""Where secrets are sealed and opened: commands are sealed on their way to the log, and an
app's state is opened only where a value is used (the container's env, the git fetch)."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from rivetr.adapters.secrets import SecretBox
from rivetr.domain.application import AppState
from rivetr.domain.commands import (
    ApprovePreview,
    ChangeAppSettings,
    CreateApp,
    OpenPreview,
    SetWebhookSecret,
)

C = TypeVar("C")


def env_context(app: str, name: str) -> str:
    return f"app:{app}:env:{name}"


def credential_context(app: str, which: str) -> str:
    return f"app:{app}:{which}"


def seal_command(box: SecretBox, command: C) -> C:
    """The command with its env values, git credentials and webhook secret sealed (others
    pass through)."""
    if isinstance(command, SetWebhookSecret):
        secret = box.seal(credential_context(command.name, "webhook"), command.secret)
        return msgspec.structs.replace(command, secret=secret)
    if not isinstance(command, CreateApp | ChangeAppSettings | OpenPreview | ApprovePreview):
        return command
    app = command.name
    changes: dict[str, object] = {}
    if isinstance(command.env, dict):
        changes["env"] = {
            name: None if value is None else box.seal(env_context(app, name), value)
            for name, value in command.env.items()
        }
    for which in ("git_token", "deploy_key"):
        value = getattr(command, which)
        if isinstance(value, str):
            changes[which] = box.seal(credential_context(app, which), value)
    return msgspec.structs.replace(command, **changes) if changes else command


def open_app(box: SecretBox, app: AppState) -> AppState:
    """The app with its env values and git credentials in plain text, for using them now.

    Raises:
        SecretError: a value does not open (its key is gone, or it was altered).
    """
    name = app.name
    return msgspec.structs.replace(
        app,
        env={key: box.open(env_context(name, key), value) for key, value in app.env.items()},
        git_token=app.git_token and box.open(credential_context(name, "git_token"), app.git_token),
        deploy_key=app.deploy_key
        and box.open(credential_context(name, "deploy_key"), app.deploy_key),
    )


def open_webhook_secret(box: SecretBox, app: AppState) -> str | None:
    if app.webhook_secret is None:
        return None
    return box.open(credential_context(app.name, "webhook"), app.webhook_secret)
