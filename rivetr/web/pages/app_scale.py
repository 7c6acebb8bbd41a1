"""The dashboard's scale of one app: how many copies run, on which servers, balanced how, and
where its live release's copies run. The form is on the app's page and on its own
(`/apps/{name}/scale`), where a refusal shows it again as typed; it goes through the scale
service as the API's PUT does, so a live app is redeployed from its live image at once."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.access import Permission
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.scale_events import MAX_REPLICAS, Scale
from rivetr.domain.scaling import ScaleApp
from rivetr.domain.swarm_events import LabelKey
from rivetr.projections.apps import AppView
from rivetr.projections.copies import ServerCopies, by_server, taken_out
from rivetr.projections.deployments import ReleaseView, StepView
from rivetr.service.commands.scaling import ScaleService
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.deployments import DeploymentReads
from rivetr.web.pages.app_found import app_for, app_of_form
from rivetr.web.pages.forms import FieldProblems, attempted, onto, problems_of, status_of
from rivetr.web.pages.guard import Layout
from rivetr.web.pages.label_lines import checked, label_lines, parse_labels

BALANCES = [("round_robin", "round robin"), ("least_connections", "least connections")]
INPUTS = ("replicas", "constraints", "spread", "balance")
_REPLICAS = re.compile(r"[0-9]{1,3}")


class ScaleForm(msgspec.Struct):
    csrf_token: str = ""
    replicas: str = ""
    constraints: str = ""  # KEY=VALUE lines
    spread: str = ""
    balance: str = ""


def scale_values(scale: Scale) -> dict[str, str]:
    """The form's values for the app's scale as it is."""
    return {
        "replicas": str(scale.replicas),
        "constraints": label_lines(dict(scale.placement.constraints)),
        "spread": scale.placement.spread or "",
        "balance": scale.balance,
    }


def scale_command(name: str, form: ScaleForm) -> ScaleApp:
    """The scale the form asks for, whole (what is left empty takes its default).

    Raises:
        InvalidCommand: naming the input that cannot be read.
    """
    replicas = form.replicas.strip() or "1"
    if not _REPLICAS.fullmatch(replicas) or not 1 <= int(replicas) <= MAX_REPLICAS:
        raise InvalidCommand(
            f"copies are a whole number from 1 to {MAX_REPLICAS}, not {form.replicas!r}",
            field="replicas",
        )
    spread = form.spread.strip() or None
    if spread is not None:
        checked(spread, LabelKey, f"{spread!r} is not a label key", "spread")
    constraints = parse_labels(form.constraints, "constraints")
    fields = {
        "name": name,
        "replicas": int(replicas),
        "placement": {"constraints": constraints, "spread": spread},
        "balance": form.balance or "round_robin",
    }
    return msgspec.convert(fields, ScaleApp)


def copies_of(release: ReleaseView | None, steps: list[StepView]) -> list[ServerCopies]:
    """The live release's copies by server, those taken out of the balance with why (from
    its `steps`); none for a release of one container on this machine."""
    if release is None or release.service_name is None:
        return []
    return by_server(release.members, taken_out(steps))


async def copies_context(
    app: AppView,
    release: ReleaseView | None,
    shown_steps: dict[str, list[StepView]],
    deployment_reads: DeploymentReads,
) -> dict[str, Any]:
    """What the app page's Copies section shows: the scale and its form, and the copies by
    server (from the timeline's steps when they hold the live release's, else read)."""
    steps: list[StepView] = []
    if release is not None and release.service_name is not None:
        steps = shown_steps.get(release.deployment_id) or await deployment_reads.release_steps(
            release
        )
    return {
        "copies": copies_of(release, steps),
        "scale_typed": scale_values(app.scale),
        "scale_problems": {},
        "balances": BALANCES,
    }


class AppScale(Controller):
    path = "/"
    include_in_schema = False

    @get("/apps/{name:str}/scale")
    async def scale_page(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        app_reads: NamedDependency[AppReads],
    ) -> Template:
        app = await app_for(layout, app_reads, name)
        if isinstance(app, Template):
            return app
        return _page(layout, app, scale_values(app.scale), {})

    @post("/apps/{name:str}/scale")
    async def scale(
        self,
        name: FromPath[str],
        layout: NamedDependency[Layout],
        app_reads: NamedDependency[AppReads],
        scaling: NamedDependency[ScaleService],
        data: URLEncodedBody[ScaleForm],
    ) -> Response[Any]:
        """Scale the app: the redeploy that puts it into effect, when it is live; else the
        app's page, where the scale is shown for its next deploy."""
        app = await app_of_form(layout, data.csrf_token, app_reads, name, Permission.EDIT_APPS)
        if not isinstance(app, AppView):
            return app

        async def scale() -> Response[Any]:
            redeploy = await scaling.scale(layout.actor, scale_command(app.name, data))
            if redeploy is not None:
                return Redirect(f"/deployments/{redeploy}")
            return Redirect(f"/apps/{app.name}#copies")

        async def refused(exc: Exception) -> Response[Any]:
            typed = {field: getattr(data, field) for field in INPUTS}
            return _page(layout, app, typed, _problems(exc), status_of(exc))

        return await attempted(scale, refused)


def _problems(exc: Exception) -> FieldProblems:
    fields = {"placement.constraints": "constraints", "placement.spread": "spread"}
    return onto(problems_of(exc, fields), INPUTS)


def _page(
    layout: Layout, app: AppView, values: dict[str, str], problems: FieldProblems, status: int = 200
) -> Template:
    return layout.page(
        "app_scale.html",
        status,
        app=app,
        scale_typed=values,
        scale_problems=problems,
        balances=BALANCES,
    )
