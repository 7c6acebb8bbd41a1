"""The projections the service runs, in one list."""

from __future__ import annotations

from rivetr.projections.apps import AppsProjection
from rivetr.projections.audit import AuditProjection
from rivetr.projections.base import Projection
from rivetr.projections.certificates import CertificatesProjection
from rivetr.projections.deployments import DeploymentsProjection
from rivetr.projections.teams import TeamsProjection
from rivetr.projections.tokens import TokensProjection
from rivetr.projections.users import UsersProjection
from rivetr.projections.webhooks import WebhooksProjection


def all_projections() -> list[Projection]:
    return [
        AppsProjection(),
        TokensProjection(),
        AuditProjection(),
        DeploymentsProjection(),
        UsersProjection(),
        TeamsProjection(),
        WebhooksProjection(),
        CertificatesProjection(),
    ]
