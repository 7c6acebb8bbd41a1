"""The instance's settings as they take effect: each one's value and where it comes from (the
default, the config file, an environment variable or the command line, or the log, for those
that change without a restart), and changing those from the dashboard, an instance admin's
doing. An environment variable or a command-line flag, when given, wins over the log."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from rivetr.config import SECRET_KEYS, Settings
from rivetr.domain.access import Actor
from rivetr.domain.aggregates import INSTANCE
from rivetr.domain.commands import ChangeInstanceSettings
from rivetr.domain.errors import Forbidden
from rivetr.domain.instance import EDITABLE
from rivetr.projections.registry import ReadModel
from rivetr.service.commands.handler import CommandHandler

# what pins a setting: these sources win over the log, so it cannot be changed from the log
_PINNING = ("environment variable", "command line")


class EffectiveSetting(msgspec.Struct, frozen=True, kw_only=True):
    setting: str
    value: str | None  # as shown: never a secret's
    origin: str  # "default", a config file's path, "environment variable X", "the dashboard"
    editable: bool  # takes effect without a restart, and not pinned
    pinned_by: str | None = None  # the environment variable (or flag) an editable one is set by
    secret: bool = False
    changed: str | None = None  # for one set from the dashboard: by whom, when


class InstanceSettings:
    def __init__(
        self,
        handler: CommandHandler,
        read: ReadModel,
        settings: Settings,
        origins: Mapping[str, str],
    ) -> None:
        """`origins`: where each setting not at its default was taken from at start, as
        `config.origins` says (a config file's path, "environment variable X", ...)."""
        self.handler = handler
        self.read = read
        self.settings = settings
        self.origins = dict(origins)

    def pinned(self) -> dict[str, str]:
        """The editable settings something that wins over the log has set: where."""
        return {
            setting: origin
            for setting, origin in self.origins.items()
            if setting in EDITABLE and origin.startswith(_PINNING)
        }

    async def public_url(self) -> str | None:
        """Where git hosts and browsers reach this Rivetr, as it is now."""
        return await self._effective_value("public_url")

    async def _effective_value(self, setting: str) -> str | None:
        if setting not in self.pinned():
            logged = (await self.read.instance_settings.every()).get(setting)
            if logged is not None:
                return logged.value
        value = getattr(self.settings, setting)
        return None if value is None else str(value)

    async def effective(self, actor: Actor) -> list[EffectiveSetting]:
        """Every setting as it takes effect now, for an instance admin (secrets not shown).

        Raises:
            Forbidden: the actor does not administer the instance.
        """
        _authorize(actor)
        logged = await self.read.instance_settings.every()
        pinned = self.pinned()
        shown = []
        for setting in Settings.__struct_fields__:
            value = getattr(self.settings, setting)
            origin = self.origins.get(setting, "default")
            found = logged.get(setting) if setting in EDITABLE and setting not in pinned else None
            if found is not None:
                value, origin = found.value, "the dashboard"
            secret = setting in SECRET_KEYS
            shown.append(
                EffectiveSetting(
                    setting=setting,
                    value=None if secret or value is None else _text(value),
                    origin=origin,
                    editable=setting in EDITABLE and setting not in pinned,
                    pinned_by=pinned.get(setting),
                    secret=secret,
                    changed=f"{found.changed_by}, {found.changed_at}" if found else None,
                )
            )
        return shown

    async def change(self, actor: Actor, changes: Mapping[str, str | None]) -> None:
        """Change settings that take effect without a restart (None: back to the config
        file's value or the default); refused for the others, and for pinned ones."""
        command = ChangeInstanceSettings(changes=dict(changes), pinned=self.pinned())
        await self.handler.execute(actor, command, INSTANCE, "")


def _authorize(actor: Actor) -> None:
    if not actor.administers_instance():
        raise Forbidden(f"{actor.label} does not administer this instance")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)
