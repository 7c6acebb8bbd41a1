"""`rivetr templates`: search the one-click templates shipped with Rivetr, read one (what it is,
its variables and how each is made, its compose file) and deploy one as a compose stack,
printing the secrets generated for it this once (the log holds them sealed)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from rivetr.cli import verbs
from rivetr.cli.shared import cli_actor
from rivetr.cli.stack_follow import WAIT_S, follow
from rivetr.cli.stack_input import assignments, place, place_arguments
from rivetr.config import Settings
from rivetr.domain.templates import CATEGORIES

SHOWN_ONCE = "these generated values are shown once: they are stored sealed, and never shown again"


class TemplateDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A template and its compose file: what `rivetr templates show` answers (as the API)."""

    template: Any
    compose: str


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    templates = sub.add_parser("templates", help="one-click templates, deployed as stacks")
    actions = templates.add_subparsers(metavar="ACTION")
    output = verbs.output(common)

    listing = actions.add_parser("list", parents=[output], help="the catalogue, by name")
    listing.add_argument("--search", default="", metavar="Q", help="words of name, text, tags")
    listing.add_argument("--category", choices=CATEGORIES)
    listing.set_defaults(run=_catalogue(_list))
    show = actions.add_parser("show", parents=[output], help="one template, its compose file")
    show.add_argument("slug")
    show.set_defaults(run=_catalogue(_show))

    deploy = actions.add_parser("deploy", parents=[output], help="make a stack of it, deployed")
    deploy.add_argument("slug")
    deploy.add_argument("--name", help="the stack's name (default: the template's slug)")
    deploy.add_argument("--domain", help="the domain its service is reached by")
    deploy.add_argument(
        "--value", action="append", default=[], metavar="K=V", help="a variable's value (K"
        " alone: from $K); the template says which it asks for"
    )  # fmt: skip
    place_arguments(deploy, default="default/default/production")
    deploy.add_argument("--wait", action="store_true", help="follow its first release")
    deploy.add_argument("--timeout", type=float, default=WAIT_S, help="seconds (with --wait)")
    verbs.verb(deploy, _deploy, str)


def _catalogue(run: Any) -> Any:
    """A verb on the packaged catalogue alone: it needs no data directory."""

    def command(_: Settings, args: argparse.Namespace) -> int:
        from rivetr.adapters.template_catalogue import TemplateCatalogue
        from rivetr.domain.errors import DomainError

        try:
            answer = run(TemplateCatalogue.packaged(), args)
        except DomainError as exc:
            return verbs.refused(exc, 1)
        verbs.show(answer, args, line)
        return 0

    return command


def line(item: Any) -> str:
    from rivetr.domain.templates import Template

    match item:
        case Template():
            return "\t".join([item.slug, item.name, item.category, item.description])
        case TemplateDetail(template=template, compose=compose):
            return "\n".join([*_about(template), "compose.yaml:", compose.rstrip("\n")])
    return str(item)


def _about(template: Any) -> list[str]:
    expose = template.expose
    shown = [
        f"{template.name} ({template.slug}), {template.category}",
        template.description,
        f"docs:     {template.docs}",
        f"domain:   reaches {expose.service} on port {expose.port}",
        "variables:" if template.variables else "variables: none",
    ]
    for name, variable in template.variables.items():
        made = variable.generate
        if variable.size:
            made += f", {variable.size}"
        if variable.value is not None:
            made += f" {variable.value!r}"
        secret = ", secret" if variable.is_secret else ""
        about = f": {variable.description}" if variable.description else ""
        shown.append(f"  {name} ({made}{secret}){about}")
    return shown


def _list(catalogue: Any, args: argparse.Namespace) -> Any:
    return list(catalogue.search(args.search[:200], args.category))


def _show(catalogue: Any, args: argparse.Namespace) -> Any:
    return TemplateDetail(template=catalogue.get(args.slug), compose=catalogue.compose(args.slug))


async def _deploy(services: Any, args: argparse.Namespace) -> Any:
    from rivetr.domain.stack_commands import CreateStackFromTemplate, DeployStack

    fields = {
        "template": args.slug,
        "name": args.name,
        "domain": args.domain,
        "values": assignments(args.value, "--value"),
        **place(args),
    }
    command = msgspec.convert(fields, CreateStackFromTemplate)
    stack_id, generated = await services.stacks.from_template(cli_actor(), command)
    deploy = DeployStack(stack_id=stack_id, trigger="template")
    release_id, _ = await services.stacks.deploy(cli_actor(), deploy)
    view = await services.stack_reads.one(cli_actor(), stack_id)
    if args.json:
        answer = {"stack": view, "generated": generated}
        print(msgspec.json.encode(answer).decode(), flush=True)
    else:
        where = f"{view.team}/{view.project}/{view.environment}"
        print(f"stack {view.name} ({stack_id}) made in {where}", file=sys.stderr)
        print(f"release {release_id} requested", file=sys.stderr)
        for name, value in generated.items():
            print(f"{name}={value}", flush=True)
    if generated:
        print(SHOWN_ONCE, file=sys.stderr, flush=True)
    if args.wait:
        return await follow(services, release_id, args.timeout)
    return 0
