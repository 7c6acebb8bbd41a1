"""/api/v1/control-plane: the control plane's own backups, for the instance's administrators
alone (a backup is every team's history): list them, ask the running service for one (202;
it is taken, read back and proven in the background, each step in the log), and read or set
the schedules it takes them on. A restore is the CLI's (`rivetr restore`): it needs the
service stopped."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED

from rivetr.domain.access import Actor
from rivetr.domain.control_plane import BackUpControlPlane, SetControlPlaneSchedules
from rivetr.service.commands.control_plane import (
    ControlPlaneBackupView,
    ControlPlaneSchedules,
    ControlPlaneService,
)


class ControlPlaneBackupAsked(msgspec.Struct, frozen=True):
    backup_id: str


class ControlPlaneController(Controller):
    path = "/control-plane"
    tags = ["control plane"]

    @get("/backups")
    async def list_backups(
        self, control_plane: NamedDependency[ControlPlaneService], actor: NamedDependency[Actor]
    ) -> list[ControlPlaneBackupView]:
        """Every control-plane backup, newest first: its status (`requested`, `stored`,
        `read_back`, `verified` or `failed`, with the step and the cause), the log position it
        holds and where it is stored."""
        return await control_plane.backups(actor)

    @post("/backups", status_code=HTTP_202_ACCEPTED)
    async def back_up(
        self,
        data: JSONBody[BackUpControlPlane],
        control_plane: NamedDependency[ControlPlaneService],
        actor: NamedDependency[Actor],
    ) -> ControlPlaneBackupAsked:
        """Back up the log, the certificates and (`with_key`, to a target with a passphrase)
        the key file now, to one of the default team's targets; follow it in the listing."""
        return ControlPlaneBackupAsked(await control_plane.back_up(actor, data))

    @get("/schedules")
    async def get_schedules(
        self, control_plane: NamedDependency[ControlPlaneService], actor: NamedDependency[Actor]
    ) -> ControlPlaneSchedules:
        return await control_plane.schedules(actor)

    @put("/schedules")
    async def set_schedules(
        self,
        data: JSONBody[SetControlPlaneSchedules],
        control_plane: NamedDependency[ControlPlaneService],
        actor: NamedDependency[Actor],
    ) -> ControlPlaneSchedules:
        """Replace the schedules (`{"schedules": [{"cron": "0 3 * * *", "timezone": "UTC",
        "target": "offsite", "with_key": true}]}`; an empty list: none)."""
        await control_plane.set_schedules(actor, data)
        return await control_plane.schedules(actor)
