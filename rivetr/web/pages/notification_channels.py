"""A team's notification channels on the dashboard: each with what it is told and its latest
attempts, a button that sends a test notice, a form to add or replace one (the URL typed once,
sealed, never shown again) and a button to remove one. Through the notification service, as
the API does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.notification_commands import RemoveChannel, SendTestNotice, SetChannel
from rivetr.domain.notifications import SCHEMES, SUBSCRIBABLE
from rivetr.projections.notifications import DeliveryView
from rivetr.service.commands.notifications import NotificationService
from rivetr.service.queries.refusals import Absent
from rivetr.web.pages.forms import Shown, problems_of, status_of, submitted
from rivetr.web.pages.guard import Layout


class ChannelForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""
    kind: str = "slack"
    url: str = ""
    on: str = ""
    projects: str = ""
    environments: str = ""
    new_secret: str = ""


class NotificationPages(Controller):
    path = "/teams/{team:str}/notifications"
    include_in_schema = False

    @get("/")
    async def channels_page(
        self,
        team: FromPath[str],
        layout: NamedDependency[Layout],
        notifications: NamedDependency[NotificationService],
    ) -> Template:
        return await _page(layout, notifications, team)

    @post("/")
    async def set_channel(
        self,
        team: FromPath[str],
        layout: NamedDependency[Layout],
        notifications: NamedDependency[NotificationService],
        data: URLEncodedBody[ChannelForm],
    ) -> Response[Any]:
        typed = {f: getattr(data, f) for f in ChannelForm.__struct_fields__ if f != "url"}

        async def put() -> Response[Any]:
            made = await notifications.set(layout.actor, _command(team, data))
            if made.signing_secret is None:
                return Redirect(f"/teams/{team}/notifications")
            note = f"The signing secret of {data.name.strip()}, shown this once:"
            return await _page(layout, notifications, team, secret=(note, made.signing_secret))

        async def refused(exc: Exception) -> Response[Any]:
            shown = Shown(form="set", problems=problems_of(exc), typed=typed, status=status_of(exc))
            return await _page(layout, notifications, team, shown)

        return await submitted(layout, data.csrf_token, put, refused)

    @post("/{name:str}/remove")
    async def remove_channel(
        self,
        team: FromPath[str],
        name: FromPath[str],
        layout: NamedDependency[Layout],
        notifications: NamedDependency[NotificationService],
        data: URLEncodedBody[ChannelForm],
    ) -> Response[Any]:
        async def remove() -> Response[Any]:
            command = msgspec.convert({"team": team, "name": name}, RemoveChannel)
            await notifications.remove(layout.actor, command)
            return Redirect(f"/teams/{team}/notifications")

        return await _on_channel(layout, notifications, team, data, remove)

    @post("/{name:str}/test")
    async def test_channel(
        self,
        team: FromPath[str],
        name: FromPath[str],
        layout: NamedDependency[Layout],
        notifications: NamedDependency[NotificationService],
        data: URLEncodedBody[ChannelForm],
    ) -> Response[Any]:
        async def send() -> Response[Any]:
            command = msgspec.convert({"team": team, "name": name}, SendTestNotice)
            tried = await notifications.test(layout.actor, command)
            return await _page(layout, notifications, team, tested=tried)

        return await _on_channel(layout, notifications, team, data, send)


async def _on_channel(
    layout: Layout,
    notifications: NotificationService,
    team: str,
    data: ChannelForm,
    act: Callable[[], Awaitable[Response[Any]]],
) -> Response[Any]:
    """A button of one channel's: done, or the page again saying why not."""

    async def refused(exc: Exception) -> Response[Any]:
        shown = Shown(form="channel", problems=problems_of(exc), status=status_of(exc))
        return await _page(layout, notifications, team, shown)

    return await submitted(layout, data.csrf_token, act, refused)


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _command(team: str, data: ChannelForm) -> SetChannel:
    fields: dict[str, Any] = {
        "team": team,
        "name": data.name.strip(),
        "kind": data.kind,
        "url": data.url.strip(),
        "on": _listed(data.on),
        "projects": _listed(data.projects),
        "environments": _listed(data.environments),
        "new_secret": bool(data.new_secret),
    }
    return msgspec.convert(fields, SetChannel)


async def _page(
    layout: Layout,
    notifications: NotificationService,
    team: str,
    shown: Shown | None = None,
    *,
    secret: tuple[str, str] | None = None,
    tested: DeliveryView | None = None,
) -> Template:
    shown = shown or Shown()
    try:
        channels = await notifications.every(layout.actor, team)
    except Absent:
        return layout.error(f"No team {team!r}.")
    return layout.page(
        "notifications.html",
        shown.status,
        team=team,
        channels=channels,
        kinds=[(kind, kind) for kind in SCHEMES],
        notices=SUBSCRIBABLE,
        manages=layout.actor.can(Permission.MANAGE_APPS, team),
        shown=shown,
        secret=secret,
        tested=tested,
    )


__all__ = ["NotificationPages"]
