"""create_app(): the Litestar application — API, dashboard, problem details, and a lifespan that
opens the services and runs their background work."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from rivetr import __version__
from rivetr.bootstrap import Services
from rivetr.config import Settings
from rivetr.service.commands.setup import SETUP_CODE_LOGGED
from rivetr.web.api.account import AccountController, accept_invitation
from rivetr.web.api.apps import AppsController
from rivetr.web.api.audit import AuditController
from rivetr.web.api.backups import BackupsController
from rivetr.web.api.cloning import CloneController
from rivetr.web.api.control_plane import ControlPlaneController
from rivetr.web.api.databases import DatabasesController
from rivetr.web.api.deployments import DeploymentsController
from rivetr.web.api.events import event_stream
from rivetr.web.api.history import app_then
from rivetr.web.api.jobs import AppJobsController, JobRunsController, StackJobsController
from rivetr.web.api.notifications import NotificationsController
from rivetr.web.api.previews import PreviewsController
from rivetr.web.api.projects import ProjectsController, move_app
from rivetr.web.api.promotion import PromotionController
from rivetr.web.api.runtime_logs import runtime_log, runtime_log_stream
from rivetr.web.api.scaling import ScaleController
from rivetr.web.api.servers import ServersController
from rivetr.web.api.session import sign_in, sign_out
from rivetr.web.api.stack_webhooks import StackWebhooksController
from rivetr.web.api.stacks import StacksController, TemplatesController
from rivetr.web.api.system import health
from rivetr.web.api.teams import TeamsController
from rivetr.web.api.tokens import TokensController
from rivetr.web.api.variables import VariablesController
from rivetr.web.auth import BearerTokenMiddleware, provide_actor
from rivetr.web.json_bodies import read_json_body
from rivetr.web.metrics import metrics_page
from rivetr.web.options import every_method_allowed
from rivetr.web.pages.account import AccountPages
from rivetr.web.pages.app_certificates import AppCertificates
from rivetr.web.pages.app_deploys import AppDeploys
from rivetr.web.pages.app_forms import AppForms
from rivetr.web.pages.app_promote import AppPromote
from rivetr.web.pages.app_scale import AppScale
from rivetr.web.pages.app_variables import AppVariables
from rivetr.web.pages.app_webhook import AppWebhook
from rivetr.web.pages.apps import AppPages
from rivetr.web.pages.audit import AuditPage
from rivetr.web.pages.backup_targets import BackupTargetPages
from rivetr.web.pages.catalogue import CataloguePages
from rivetr.web.pages.database_actions import DatabaseActions
from rivetr.web.pages.databases import DatabasePages
from rivetr.web.pages.deployment import DeploymentPage
from rivetr.web.pages.environment_clone import EnvironmentClonePage
from rivetr.web.pages.guard import GUARD, GUARD_HANDLERS, storage_fault
from rivetr.web.pages.instance_settings import SettingsPages
from rivetr.web.pages.job_forms import JobForms
from rivetr.web.pages.jobs import JobPages, StackJobPages
from rivetr.web.pages.notification_channels import NotificationPages
from rivetr.web.pages.project_actions import ProjectActions
from rivetr.web.pages.projects import ProjectPages
from rivetr.web.pages.server_forms import ServerForms
from rivetr.web.pages.servers import ServerPages
from rivetr.web.pages.shared_variables import SharedVariablesPages
from rivetr.web.pages.sign_in import SignInPages
from rivetr.web.pages.stack_allowances import StackAllowancePages
from rivetr.web.pages.stack_deploys import StackDeploys
from rivetr.web.pages.stack_page import StackPageViews
from rivetr.web.pages.stack_settings import StackSettings
from rivetr.web.pages.stack_webhook import StackWebhook
from rivetr.web.pages.stacks import StackPages
from rivetr.web.pages.team_actions import TeamActions
from rivetr.web.pages.teams import TeamPages
from rivetr.web.pages.tokens import TokenPages
from rivetr.web.params import carry_request_key, given_once, path_values_checked
from rivetr.web.problems import handle_exception
from rivetr.web.providers import service_providers
from rivetr.web.schema_pages import render_plugins, schema_asset
from rivetr.web.stopping import Stopping
from rivetr.web.webhooks import receive_stack_webhook, receive_webhook

TEMPLATES = Path(__file__).parent / "templates"
log = logging.getLogger(__name__)


async def check_request(request: Request[Any, Any, Any]) -> None:
    """The API's before_request hook: its path, query and body, checked before the handler."""
    path_values_checked(request)
    given_once(request)
    await read_json_body(request)
    carry_request_key(request)


def _template_globals(engine: JinjaTemplateEngine) -> None:
    # every page's banner asks it, whichever handler drew the page
    engine.engine.globals["storage_fault"] = storage_fault


def create_app(
    settings: Settings,
    services: Services | None = None,
    open_services: Callable[[Settings], Awaitable[Services]] = Services.open,
) -> Litestar:
    """Build the web app. With `services` given (tests), the caller owns opening and closing;
    else `open_services` opens them (tests hand it the ports they want)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        opened = services or await open_services(settings)
        app.state.services = opened
        app.state.stopping = Stopping()  # set by the server when a stop begins
        code = await opened.setup.offer()
        if code is not None:
            log.warning(SETUP_CODE_LOGGED, code)
        try:
            async with opened.background():
                yield
        finally:
            if services is None:
                await opened.close()

    api = Router(
        path="/api/v1",
        route_handlers=[
            AppsController,
            PreviewsController,
            DeploymentsController,
            AuditController,
            event_stream,
            runtime_log,
            runtime_log_stream,
            app_then,
            TokensController,
            TeamsController,
            AccountController,
            accept_invitation,
            ProjectsController,
            move_app,
            health,
            sign_in,
            sign_out,
            VariablesController,
            CloneController,
            PromotionController,
            DatabasesController,
            StacksController,
            StackWebhooksController,
            TemplatesController,
            BackupsController,
            ControlPlaneController,
            ServersController,
            ScaleController,
            NotificationsController,
            AppJobsController,
            StackJobsController,
            JobRunsController,
        ],
        middleware=[BearerTokenMiddleware],
        dependencies={"actor": Provide(provide_actor)},
        before_request=check_request,
    )
    # the dashboard: its pages take the `actor` of the one signed-in guard (sign-in aside)
    pages = Router(
        path="/",
        route_handlers=[
            SignInPages,
            AppPages,
            DeploymentPage,
            AuditPage,
            AppForms,
            AppDeploys,
            AppVariables,
            AppWebhook,
            AppCertificates,
            AppScale,
            TeamPages,
            TeamActions,
            TokenPages,
            AccountPages,
            SettingsPages,
            ServerPages,
            ServerForms,
            StackAllowancePages,
            ProjectPages,
            ProjectActions,
            SharedVariablesPages,
            EnvironmentClonePage,
            AppPromote,
            DatabasePages,
            DatabaseActions,
            BackupTargetPages,
            NotificationPages,
            JobForms,
            StackPages,
            StackPageViews,
            StackDeploys,
            StackSettings,
            StackWebhook,
            CataloguePages,
            JobPages,
            StackJobPages,
        ],
        dependencies=GUARD,
        exception_handlers=GUARD_HANDLERS,
    )
    return Litestar(
        route_handlers=[
            api,
            pages,
            receive_webhook,
            receive_stack_webhook,
            schema_asset,
            metrics_page,
        ],
        dependencies=service_providers(),
        exception_handlers={Exception: handle_exception},
        lifespan=[lifespan],
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_template_globals
        ),
        openapi_config=OpenAPIConfig(
            title="Rivetr", version=__version__, path="/schema", render_plugins=render_plugins()
        ),
        middleware=[every_method_allowed],
        type_encoders={msgspec.UnsetType: lambda _: None},
        state=State({"form_key": secrets.token_bytes(32)}),  # signs the pre-session forms' tokens
        debug=False,
    )


__all__ = ["create_app"]
