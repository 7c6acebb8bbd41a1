"""Where secrets are sealed and opened: commands are sealed on their way to the log, bound to the
app's id and the field, and an app's state is opened only where a value is used (the
container's env, the build, the git fetch).

A value is only ever taken in plain text: one that looks sealed is refused, so a ciphertext
seen in an export cannot be carried into another app (it would not open there, and the API
does not pretend it might)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import msgspec

from rivetr.adapters.secrets import SecretBox, SecretError, is_name_bound, is_sealed
from rivetr.domain.application import AppState
from rivetr.domain.commands import (
    ApprovePreview,
    ChangeAppSettings,
    CreateApp,
    OpenPreview,
    SetWebhookSecret,
)
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.git_credentials import Credentials
from rivetr.domain.settings import BuildSettings
from rivetr.service.commands.app_lookup import is_legacy

C = TypeVar("C")
GIT_CREDENTIALS = ("git_token", "deploy_key")  # the fields, as commands and states name them


def env_context(app_id: str, name: str) -> str:
    return f"app:{app_id}:env:{name}"


def preview_context(app_id: str, name: str) -> str:
    return f"app:{app_id}:env_preview:{name}"


def build_arg_context(app_id: str, name: str) -> str:
    return f"app:{app_id}:build_arg:{name}"


def credential_context(app_id: str, which: str) -> str:
    return f"app:{app_id}:{which}"


def seal_command(box: SecretBox, app_id: str, command: C) -> C:
    """The command with its env values, build args, git credentials and webhook secret sealed
    for the app `app_id` (other commands pass through).

    Raises:
        InvalidCommand: a value is already sealed text (rvs1:/rvs2:...): only plain values are
            taken.
    """
    if isinstance(command, SetWebhookSecret):
        secret = box.seal(credential_context(app_id, "webhook"), _plain(command.secret, "secret"))
        return msgspec.structs.replace(command, secret=secret)
    if not isinstance(command, CreateApp | ChangeAppSettings | OpenPreview | ApprovePreview):
        return command
    changes: dict[str, object] = {}
    if isinstance(command.env, dict):
        changes["env"] = {
            name: None
            if value is None
            else box.seal(env_context(app_id, name), _plain(value, f"env.{name}"))
            for name, value in command.env.items()
        }
    previewed = getattr(command, "env_preview", None)
    if isinstance(previewed, dict):
        changes["env_preview"] = {
            name: None
            if value is None
            else box.seal(preview_context(app_id, name), _plain(value, f"env_preview.{name}"))
            for name, value in previewed.items()
        }
    build = getattr(command, "build", None)
    if isinstance(build, BuildSettings) and build.build_args:
        sealed = {
            name: box.seal(build_arg_context(app_id, name), _plain(value, f"build_args.{name}"))
            for name, value in build.build_args.items()
        }
        changes["build"] = msgspec.structs.replace(build, build_args=sealed)
    changes.update(sealed_credentials(box, f"app:{app_id}", command))
    return msgspec.structs.replace(command, **changes) if changes else command


def sealed_credentials(box: SecretBox, owner: str, command: object) -> dict[str, str]:
    """The git credentials a command gives (`git_token`, `deploy_key`: an app's or a stack's)
    sealed bound to their `owner` (`app:<id>`, `stack:<id>`) and the field; those left out or
    removed (null) are not in it.

    Raises:
        InvalidCommand: a value is already sealed text: only plain values are taken.
    """
    return {
        which: box.seal(f"{owner}:{which}", _plain(value, which))
        for which in GIT_CREDENTIALS
        if isinstance(value := getattr(command, which), str)
    }


def open_credentials(
    box: SecretBox, owner: str, token: str | None, deploy_key: str | None
) -> Credentials:
    """Git credentials sealed by `sealed_credentials` for `owner`, in plain text, for a fetch now.

    Raises:
        SecretError: one does not open (its key is gone, or it was altered, or sealed for
            another owner or field), or it was never sealed for an id.
    """
    opened: list[str | None] = []
    for which, value in zip(GIT_CREDENTIALS, (token, deploy_key), strict=True):
        if value is not None and (not is_sealed(value) or is_name_bound(value)):
            raise SecretError(f"{which} of {owner} is not sealed for it: refused")
        opened.append(None if value is None else box.open(f"{owner}:{which}", value))
    return opened[0], opened[1]


def _plain(value: str, field: str) -> str:
    if is_sealed(value):
        raise InvalidCommand(
            f"{field}: give the plain value; a sealed value (rvs1:/rvs2:...) is never accepted"
        )
    return value


def open_app(box: SecretBox, app: AppState) -> AppState:
    """The app with its env values, build args and git credentials in plain text, for using
    them now.

    Raises:
        SecretError: a value does not open (its key is gone, or it was altered, or it was
            sealed for another app or field).
    """
    return msgspec.structs.replace(
        app,
        env={key: _open(box, app, f"env:{key}", value) for key, value in app.env.items()},
        env_preview={
            key: _open(box, app, f"env_preview:{key}", value)
            for key, value in app.env_preview.items()
        },
        build=msgspec.structs.replace(
            app.build,
            build_args={
                key: _open(box, app, f"build_arg:{key}", value)
                for key, value in app.build.build_args.items()
            },
        ),
        git_token=app.git_token and _open(box, app, "git_token", app.git_token),
        deploy_key=app.deploy_key and _open(box, app, "deploy_key", app.deploy_key),
    )


def open_webhook_secret(box: SecretBox, app: AppState) -> str | None:
    if app.webhook_secret is None:
        return None
    return _open(box, app, "webhook", app.webhook_secret)


def _open(box: SecretBox, app: AppState, field: str, value: str) -> str:
    """A value of `app`'s `field` in plain text. Values sealed before apps had ids are bound
    to the app's name, and values stored before sealing existed are plain: both are taken
    only on an app that dates from then."""
    if not is_sealed(value) or is_name_bound(value):
        if not is_legacy(app.app_id):
            raise SecretError(
                f"{field} of app {app.name} ({app.app_id}) is not sealed for that app: refused"
            )
        return box.open(f"app:{app.name}:{field}", value)
    return box.open(f"app:{app.app_id}:{field}", value)


def shared_context(place: str, name: str) -> str:
    """Where a shared variable's value is bound: `team:acme`, `project:acme/shop` or
    `environment:acme/shop/staging`, and its name."""
    return f"{place}:var:{name}"


def seal_shared(
    box: SecretBox, place: str, values: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Shared variables' values sealed for `place` (None, a removal, stays None).

    Raises:
        InvalidCommand: a value is already sealed text: only plain values are taken.
    """
    return {
        name: None if value is None else box.seal(shared_context(place, name), _plain(value, name))
        for name, value in values.items()
    }


def open_shared(box: SecretBox, place: str, values: Mapping[str, str]) -> dict[str, str]:
    """Shared variables' values of `place` in plain text, for resolving them now.

    Raises:
        SecretError: a value does not open (its key is gone, or it was altered or moved).
    """
    for name, value in values.items():
        if not is_sealed(value) or is_name_bound(value):  # only ever stored sealed, for its id
            raise SecretError(f"{place}: shared variable {name} is not sealed for it: refused")
    return {name: box.open(shared_context(place, name), value) for name, value in values.items()}
