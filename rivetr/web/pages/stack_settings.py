"""A stack's settings page (its source, routes and watch paths: only what changed is sent;
delete by typing its name) and its variables page (names listed, values write-only: set or
replace one, remove one, paste a `.env` file). Each form goes through the stack service, as
the API's PATCH, PUT and DELETE do; a refusal is the page again beside the field at fault."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from rivetr.domain.errors import InvalidCommand
from rivetr.domain.stack_commands import ChangeStackSettings, DeleteStack, SetStackVariables
from rivetr.projections.stacks import StackView
from rivetr.service.commands.stacks import StackService
from rivetr.web.pages.env_text import check_name, pasted
from rivetr.web.pages.forms import FieldProblems, Shown, onto, problems_of, status_of, submitted
from rivetr.web.pages.stack_deploys import provide_stack_page
from rivetr.web.pages.stack_form import ROUTES_HINT, StackForm, settings_changes, shown
from rivetr.web.pages.stack_page import StackPage

_NAMES = re.compile(r"[A-Za-z0-9_, ]{0,4096}")  # what the variables redirect lists, nothing else


class DeleteForm(msgspec.Struct):
    csrf_token: str = ""
    confirm: str = ""  # the stack's name, typed again


class VariableForm(msgspec.Struct):
    csrf_token: str = ""
    name: str = ""  # set one / remove one
    value: str = ""  # write-only
    text: str = ""  # a pasted .env file; write-only


class StackSettings(Controller):
    path = "/stacks/{stack_id:str}"
    include_in_schema = False
    dependencies = {"page": Provide(provide_stack_page, sync_to_thread=False)}

    @get("/settings")
    async def settings_page(self, page: NamedDependency[StackPage]) -> Template:
        stack = await page.found()
        if isinstance(stack, Template):
            return stack
        saved = page.layout.request.query_params.get("saved")
        return _settings(page, stack, Shown(typed=shown(stack)), saved)

    @post("/settings")
    async def change_settings(
        self,
        page: NamedDependency[StackPage],
        stacks: NamedDependency[StackService],
        data: URLEncodedBody[StackForm],
    ) -> Response[Any]:
        """Change what the form changes, nothing else: its source and routes only for who may
        change them (the form showed them only to them)."""
        stack = await page.found()
        if isinstance(stack, Template):
            return stack

        async def change() -> Response[Any]:
            changes = settings_changes(stack, data, page.may(stack)["manages"])
            if changes:
                command = msgspec.convert(
                    {"stack_id": stack.stack_id, **changes}, ChangeStackSettings
                )
                await stacks.change(page.layout.actor, command)
            return Redirect(f"/stacks/{stack.stack_id}/settings?saved={'yes' if changes else 'no'}")

        async def refused(exc: Exception) -> Response[Any]:
            problems = onto(problems_of(exc), msgspec.structs.asdict(data))
            return _settings(
                page,
                stack,
                Shown(problems=problems, typed=shown(stack, data), status=status_of(exc)),
            )

        return await submitted(page.layout, data.csrf_token, change, refused)

    @post("/delete")
    async def delete_stack(
        self,
        page: NamedDependency[StackPage],
        stacks: NamedDependency[StackService],
        data: URLEncodedBody[DeleteForm],
    ) -> Response[Any]:
        """The danger zone: only when the stack's name is typed again."""
        stack = await page.found()
        if isinstance(stack, Template):
            return stack

        async def delete() -> Response[Any]:
            if data.confirm.strip() != stack.name:
                raise InvalidCommand(
                    f"type {stack.name} to confirm: nothing was deleted", field="confirm"
                )
            await stacks.delete(page.layout.actor, DeleteStack(stack_id=stack.stack_id))
            return Redirect("/stacks")

        async def refused(exc: Exception) -> Response[Any]:
            problems = {"confirm": " ".join(problems_of(exc).values())}
            shown_now = Shown(
                form="delete", problems=problems, typed=shown(stack), status=status_of(exc)
            )
            return _settings(page, stack, shown_now)

        return await submitted(page.layout, data.csrf_token, delete, refused)

    @get("/variables")
    async def variables_page(self, page: NamedDependency[StackPage]) -> Template:
        stack = await page.found()
        if isinstance(stack, Template):
            return stack
        done = page.layout.request.query_params.get("done", "")
        return _variables(page, stack, {}, {}, done=done if _NAMES.fullmatch(done) else "")

    @post("/variables")
    async def set_variable(
        self,
        page: NamedDependency[StackPage],
        stacks: NamedDependency[StackService],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        """Set one variable, or replace its value."""
        return await _changed(
            page, stacks, data, lambda: {check_name(data.name.strip(), "name"): data.value}
        )

    @post("/variables/remove")
    async def remove_variable(
        self,
        page: NamedDependency[StackPage],
        stacks: NamedDependency[StackService],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        return await _changed(page, stacks, data, lambda: {data.name.strip(): None})

    @post("/variables/paste")
    async def paste_variables(
        self,
        page: NamedDependency[StackPage],
        stacks: NamedDependency[StackService],
        data: URLEncodedBody[VariableForm],
    ) -> Response[Any]:
        """Set every variable of a pasted `.env` file; the others stay as they are."""
        return await _changed(page, stacks, data, lambda: pasted(data.text))


def _settings(
    page: StackPage, stack: StackView, shown: Shown, saved: str | None = None
) -> Template:
    return page.layout.page(
        "stack_settings.html",
        shown.status,
        stack=stack,
        shown=shown,
        saved=saved,
        routes_hint=ROUTES_HINT,
        **page.may(stack),
    )


async def _changed(
    page: StackPage,
    stacks: StackService,
    data: VariableForm,
    variables: Callable[[], dict[str, str | None]],
) -> Response[Any]:
    """Set (or, with None, remove) the `variables`: back to the page saying which, or the page
    with the refusal beside its field (and the name typed, never a value)."""
    stack = await page.found()
    if isinstance(stack, Template):
        return stack

    async def change() -> Response[Any]:
        values = variables()
        command = msgspec.convert(
            {"stack_id": stack.stack_id, "variables": values}, SetStackVariables
        )
        await stacks.set_variables(page.layout.actor, command)
        return Redirect(f"/stacks/{stack.stack_id}/variables?done={', '.join(sorted(values))}")

    async def refused(exc: Exception) -> Response[Any]:
        # the name is at fault when msgspec refuses a key of `variables`
        problems = onto(problems_of(exc, {"variables": "name"}), ["name", "value", "text"])
        return _variables(page, stack, {"name": data.name}, problems, status_of(exc))

    return await submitted(page.layout, data.csrf_token, change, refused)


def _variables(
    page: StackPage,
    stack: StackView,
    typed: dict[str, str],
    problems: FieldProblems,
    status: int = 200,
    *,
    done: str = "",
) -> Template:
    may = page.may(stack)
    return page.layout.page(
        "stack_variables.html",
        status,
        stack=stack,
        form=typed,
        problems=problems,
        done=done,
        **may,
    )


__all__ = ["StackSettings"]
