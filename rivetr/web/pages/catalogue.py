"""The dashboard's template catalogue: every template found by words and a category, a
template's page (its compose file, its variables and how each is made) with the form that
deploys it into an environment, and the page answering that form, which shows the secrets
generated for it this once (never in a URL, a cookie or a redirect: in that answer only).
Logos are served here with headers that keep them images."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Template

from rivetr.domain.errors import DomainError, NotFound
from rivetr.domain.stack_commands import CreateStackFromTemplate, DeployStack
from rivetr.domain.templates import CATEGORIES, DERIVED_FROM_DOMAIN, TemplateVariable
from rivetr.domain.templates import Template as ServiceTemplate
from rivetr.service.commands.stacks import StackService
from rivetr.service.queries.projects import ProjectReads
from rivetr.service.queries.stacks import StackReads
from rivetr.web.pages.forms import (
    Shown,
    onto,
    place_choices,
    problems_of,
    status_of,
    submitted,
)
from rivetr.web.pages.guard import Layout

VALUE_PREFIX = "var_"  # the deploy form's input of variable NAME is var_NAME
# a logo is drawn by us, but opened on its own it must still run nothing nor load anything
LOGO_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "private, max-age=3600",
}
# the answer holding the generated secrets is kept by no cache, the browser's included
SECRETS_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def made_how(variable: TemplateVariable) -> str:
    """How a variable's value is made, in words."""
    match variable.generate:
        case "password":
            return f"generated: a password of {variable.size} characters"
        case "hex":
            return f"generated: {variable.size} random bytes, in hex"
        case "base64":
            return f"generated: {variable.size} random bytes, in base64"
        case "domain":
            return "the domain you give"
        case "url":
            return "https:// and the domain you give"
        case "admin_email":
            return "your e-mail address"
        case "value":
            return f"fixed: {variable.value}"
    return "asked: you give it"


class CataloguePages(Controller):
    path = "/templates"
    include_in_schema = False

    @get("/")
    async def catalogue_page(
        self,
        layout: NamedDependency[Layout],
        stacks: NamedDependency[StackService],
        q: FromQuery[str] = "",
        category: FromQuery[str] = "",
    ) -> Template:
        """Every template matching each word of `q`, in `category` (empty: any)."""
        try:
            found = stacks.catalogue.search(q[:200], category or None)
        except DomainError as exc:
            return layout.error(f"{exc}.", status_of(exc))
        return layout.page(
            "catalogue.html",
            templates=found,
            q=q[:200],
            category=category,
            categories=CATEGORIES,
            total=len(stacks.catalogue.templates),
        )

    @get("/{slug:str}")
    async def template_page(
        self,
        slug: FromPath[str],
        layout: NamedDependency[Layout],
        stacks: NamedDependency[StackService],
        project_reads: NamedDependency[ProjectReads],
    ) -> Template:
        return await _template_page(layout, stacks, project_reads, slug, Shown())

    @get("/{slug:str}/logo.svg")
    async def logo(
        self,
        slug: FromPath[str],
        layout: NamedDependency[Layout],
        stacks: NamedDependency[StackService],
    ) -> Response[bytes]:
        """The template's logo, for signed-in readers as every page (the layout asks for one)."""
        try:
            logo = stacks.catalogue.logo(slug)
        except NotFound:
            return Response(b"", status_code=404, headers=LOGO_HEADERS)
        return Response(logo, media_type="image/svg+xml", headers=LOGO_HEADERS)

    @post("/{slug:str}/deploy")
    async def deploy_template(
        self,
        slug: FromPath[str],
        layout: NamedDependency[Layout],
        stacks: NamedDependency[StackService],
        stack_reads: NamedDependency[StackReads],
        project_reads: NamedDependency[ProjectReads],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """A stack from the template, its first release asked for, and the page that shows
        the secrets generated for it: the answer itself, status 201, kept by no cache."""
        template = _template(stacks, slug)
        if template is None:
            return layout.error(f"No template {slug!r}.")
        typed = {k: data.get(k, "").strip() for k in ("name", "place", "domain")}

        async def deploy() -> Response[Any]:
            team, project, environment = [*typed["place"].split("/"), "", "", ""][:3]
            values = {
                name: data[VALUE_PREFIX + name]
                for name in template.variables
                if data.get(VALUE_PREFIX + name, "")
            }
            fields = {
                "template": template.slug,
                "name": typed["name"] or None,
                "team": team or None,
                "project": project or "default",
                "environment": environment or "production",
                "domain": typed["domain"] or None,
                "values": values,
            }
            command = msgspec.convert(fields, CreateStackFromTemplate)
            stack_id, generated = await stacks.from_template(layout.actor, command)
            # the secrets exist now and are shown nowhere else: a refused deploy must not
            # lose them, so it is said on their page
            release_id, unreleased = None, ""
            try:
                deploy = DeployStack(stack_id=stack_id, trigger="template")
                release_id, _ = await stacks.deploy(layout.actor, deploy)
            except DomainError as exc:
                unreleased = str(exc)
            context = {
                "unreleased": unreleased,
                "entry": template,
                "stack": await stack_reads.one(layout.actor, stack_id),
                "release_id": release_id,
                "generated": generated,
            }
            return Template(
                "template_deployed.html",
                context=layout.context(**context),
                status_code=201,
                headers=SECRETS_HEADERS,
            )

        async def refused(exc: Exception) -> Response[Any]:
            inputs = {name: VALUE_PREFIX + name for name in template.variables}
            where = dict.fromkeys(("team", "project", "environment"), "place")
            problems = onto(
                problems_of(exc, where | inputs), ["name", "place", "domain", *inputs.values()]
            )
            shown = Shown(problems=problems, typed=typed, status=status_of(exc))
            return await _template_page(layout, stacks, project_reads, slug, shown)

        return await submitted(layout, data.get("csrf_token", ""), deploy, refused)


def _template(stacks: StackService, slug: str) -> ServiceTemplate | None:
    try:
        return stacks.catalogue.get(slug)
    except NotFound:
        return None


async def _template_page(
    layout: Layout, stacks: StackService, project_reads: ProjectReads, slug: str, shown: Shown
) -> Template:
    """A template's page, with its deploy form as typed (never a variable's value)."""
    template = _template(stacks, slug)
    if template is None:
        return layout.error(f"No template {slug!r}.")
    variables = [
        (name, variable, made_how(variable)) for name, variable in template.variables.items()
    ]
    # what the user may give: every variable Rivetr does not derive from the domain
    given = [(n, v) for n, v, _ in variables if v.generate not in DERIVED_FROM_DOMAIN]
    optional = [(n, v) for n, v in given if v.generate != "input"]
    return layout.page(
        "template.html",
        shown.status,
        entry=template,
        compose=stacks.catalogue.compose(template.slug),
        variables=variables,
        asks_domain=any(v.generate in DERIVED_FROM_DOMAIN for v in template.variables.values()),
        asked=[(n, v) for n, v in given if v.generate == "input"],
        optional=optional,
        overrides_refused=any(VALUE_PREFIX + n in shown.problems for n, _ in optional),
        prefix=VALUE_PREFIX,
        place_choices=await place_choices(layout.actor, project_reads),
        problems=shown.problems,
        typed=shown.typed,
    )


__all__ = ["CataloguePages", "made_how"]
