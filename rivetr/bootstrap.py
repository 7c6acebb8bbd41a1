"""The composition root: builds every part from Settings, runs the background work, closes all.

The CLI and the web app both start here, so there is one place that knows how the parts fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import partial

import anyio

from rivetr.adapters.acme_process import AcmeProcess
from rivetr.adapters.builders.base import ImageBuilder
from rivetr.adapters.builders.build import RuntimeBuilder
from rivetr.adapters.certs import CertificateStore
from rivetr.adapters.clock import Clock, SystemClock
from rivetr.adapters.eventstore.base import EventStore
from rivetr.adapters.eventstore.faults import StorageFault
from rivetr.adapters.eventstore.sqlite import SqliteEventStore
from rivetr.adapters.health.base import HealthProber
from rivetr.adapters.health.probe import HttpProber
from rivetr.adapters.host import HostProbe, ProcHost
from rivetr.adapters.logs import LogStore
from rivetr.adapters.metrics_listener import serve_metrics
from rivetr.adapters.notify.base import NoticeSender
from rivetr.adapters.notify.senders import AppriseSender
from rivetr.adapters.private_files import private_dir, private_sqlite, tighten_tree
from rivetr.adapters.proxy import ProxyLimits, ProxyServer, RouteTable
from rivetr.adapters.runtime.base import ContainerError, ContainerRuntime, EngineUnavailable
from rivetr.adapters.runtime.monitor import EngineMonitor
from rivetr.adapters.secrets import SecretBox
from rivetr.adapters.source.base import SourceFetcher
from rivetr.adapters.source.git import GitSource
from rivetr.adapters.source.policy import NameResolver, RepositoryPolicy
from rivetr.adapters.swarm.base import SwarmEngine
from rivetr.adapters.template_catalogue import TemplateCatalogue
from rivetr.config import Settings
from rivetr.domain.access import SYSTEM
from rivetr.domain.errors import DomainError
from rivetr.domain.stack_commands import DeployStack
from rivetr.projections.jobs import RUNS_KEPT
from rivetr.projections.registry import ReadModel, all_projections
from rivetr.projections.runner import ProjectionRunner
from rivetr.service.commands.app_lookup import AppLookup
from rivetr.service.commands.apps import AppService
from rivetr.service.commands.authority import Authority
from rivetr.service.commands.backups import BackupService
from rivetr.service.commands.certificates import CertificateService
from rivetr.service.commands.cloning import CloneService
from rivetr.service.commands.control_plane import ControlPlaneService
from rivetr.service.commands.databases import DatabaseService
from rivetr.service.commands.deployments import DeploymentService
from rivetr.service.commands.handler import CommandHandler
from rivetr.service.commands.instance_settings import InstanceSettings
from rivetr.service.commands.jobs import JobService
from rivetr.service.commands.joining import InvitationJoining
from rivetr.service.commands.notifications import NotificationService
from rivetr.service.commands.previews import PreviewService
from rivetr.service.commands.projects import ProjectService
from rivetr.service.commands.promotion import PromotionService
from rivetr.service.commands.scaling import ScaleService
from rivetr.service.commands.servers import ServerService
from rivetr.service.commands.setup import SetupService
from rivetr.service.commands.stack_allowances import StackAllowanceService
from rivetr.service.commands.stacks import StackService
from rivetr.service.commands.teams import TeamService
from rivetr.service.commands.tokens import TokenService
from rivetr.service.commands.users import UserService
from rivetr.service.commands.variables import VariableService
from rivetr.service.commands.webhooks import WebhookService
from rivetr.service.metrics.scrape import Metrics
from rivetr.service.queries.accounts import AccountReads
from rivetr.service.queries.apps import AppReads
from rivetr.service.queries.audit import AuditReads
from rivetr.service.queries.databases import DatabaseReads
from rivetr.service.queries.deployments import DeploymentReads
from rivetr.service.queries.health import HealthReads
from rivetr.service.queries.history import HistoryReads
from rivetr.service.queries.jobs import JobReads
from rivetr.service.queries.projects import ProjectReads
from rivetr.service.queries.runtime_logs import RuntimeLogs
from rivetr.service.queries.stacks import StackReads
from rivetr.service.queries.teams import TeamReads
from rivetr.service.queries.variables import VariableReads
from rivetr.service.reactors.backup_worker import BackupWorker
from rivetr.service.reactors.control_plane_backup import ControlPlaneBackups
from rivetr.service.reactors.control_plane_reactor import ControlPlaneReactor
from rivetr.service.reactors.copy_watch import CopyWatch
from rivetr.service.reactors.database_keeper import DatabaseKeeper
from rivetr.service.reactors.database_reactors import DatabaseReactors
from rivetr.service.reactors.deployer import Deployer
from rivetr.service.reactors.environment_networks import EnvironmentNetworks
from rivetr.service.reactors.host_sampler import HostSampler, thresholds_of
from rivetr.service.reactors.hub import EventHub
from rivetr.service.reactors.job_recorder import RunRecorder
from rivetr.service.reactors.job_runner import JobRunner
from rivetr.service.reactors.job_scheduler import JobScheduler
from rivetr.service.reactors.job_specs import JobSpecs
from rivetr.service.reactors.notifier import Notifier
from rivetr.service.reactors.pipeline import DeployPipeline
from rivetr.service.reactors.reconciler import (
    fail_interrupted,
    reconcile_engine,
    remove_orphan_services,
    revive_lost_services,
)
from rivetr.service.reactors.renewal import Renewer
from rivetr.service.reactors.resources import ResourceSampler
from rivetr.service.reactors.restore_worker import RestoreWorker
from rivetr.service.reactors.retention_pruner import RetentionPruner
from rivetr.service.reactors.route_keeper import RouteKeeper
from rivetr.service.reactors.stack_copy_watch import StackCopyWatch
from rivetr.service.reactors.stack_deployer import StackDeployer
from rivetr.service.reactors.stack_ports import StackPorts
from rivetr.service.reactors.stack_recorder import StackRecorder
from rivetr.service.reactors.steps import StepRecorder
from rivetr.service.reactors.storage_watch import StorageWatch
from rivetr.service.reactors.swarm_engine import SwarmEngineFinder
from rivetr.service.reactors.swarm_keeper import SwarmKeeper
from rivetr.service.reactors.target_opener import TargetOpener

log = logging.getLogger(__name__)
_RESTART_DELAY_S = 5


class Services:
    """Everything a request handler or a CLI command needs, opened on one data directory.

    Built from the ports it is handed; each one not handed is the real one: the container
    engine found from the settings (`runtime`), git (`source`), the builders here (`builder`),
    HTTP probes on loopback (`prober`) and the system's clock (`clock`).
    """

    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        runner: ProjectionRunner,
        read: ReadModel,
        resolver: NameResolver | None = None,
        *,
        runtime: ContainerRuntime | None = None,
        source: SourceFetcher | None = None,
        builder: ImageBuilder | None = None,
        prober: HealthProber | None = None,
        clock: Clock | None = None,
        origins: Mapping[str, str] | None = None,
        sender: NoticeSender | None = None,
        host: HostProbe | None = None,
        swarm: SwarmEngine | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner
        self.read = read
        self.clock = clock or SystemClock()
        self.lookup = AppLookup(store, read.apps)
        handler = CommandHandler(store, runner, Authority(store, self.lookup).target)
        self.secrets = SecretBox(settings.data_path / "secrets.key", settings.secret_key)
        self.repositories = RepositoryPolicy(
            local_dirs=settings.git_local_dirs,
            allow_private=settings.git_allow_private,
            resolver=resolver,
        )
        self.apps = AppService(handler, self.secrets, self.lookup, self.repositories)
        self.tokens = TokenService(handler, read, store, runner)
        self.users = UserService(handler, store, runner, read, self.secrets)
        self.teams = TeamService(handler, read)
        self.projects = ProjectService(handler, read, self.lookup)
        self.variables = VariableService(handler, read, self.lookup, self.secrets)
        self.variable_reads = VariableReads(read)
        self.databases = DatabaseService(handler, self.secrets, read)
        self.backups = BackupService(self.databases)
        self.stack_allowances = StackAllowanceService(
            handler, read, str(settings.data_path.resolve())
        )
        self.stacks = StackService(
            handler,
            self.secrets,
            self.repositories,
            TemplateCatalogue.packaged(),
            allowances=self.stack_allowances.allowances,
            data_dir=self.stack_allowances.data_dir,
        )
        self.logs = LogStore(settings.data_path / "logs", keep=settings.logs_kept)
        self.stack_reads = StackReads(
            read, lambda: self.engine.runtime, self.logs, swarm=lambda: self.swarm_engine()
        )
        self.database_reads = DatabaseReads(read, lambda: self.engine.runtime)
        self.setup = SetupService(read, self.users, self.teams, self.tokens)
        self.joining = InvitationJoining(self.users, self.teams)
        # an engine to run containers on: one configured, or one handed in (a test's twin)
        self.has_engine = runtime is not None or settings.engine != "none"
        self.engine = EngineMonitor(
            store,
            settings.engine,
            settings.engine_url,
            settings.engine_retry_max_s,
            runtime=runtime,
        )
        self.swarm_engine = SwarmEngineFinder(self.engine, swarm)
        self.servers = ServerService(
            handler,
            self.swarm_engine,
            self.clock,
            self.secrets,
            read,
            settings.swarm_registry,
            settings.hosted_registry_image,
        )
        self.deployments = DeploymentService(handler, read, self.lookup)
        self.scaling = ScaleService(self.apps, self.deployments, read)
        self.clones = CloneService(
            handler, read, self.lookup, self.secrets, self.apps, self.projects
        )
        self.promotions = PromotionService(handler, read, self.lookup)
        self.previews = PreviewService(self.apps, self.deployments, self.secrets)
        self.webhooks = WebhookService(
            self.apps, self.deployments, self.previews, self.secrets, self.stacks
        )
        self.certs = CertificateStore(settings.data_path / "certs")
        self.app_reads = AppReads(read)
        self.deployment_reads = DeploymentReads(read, self.app_reads, self.logs)
        self.team_reads = TeamReads(read)
        self.account_reads = AccountReads(read)
        self.project_reads = ProjectReads(read, runner)
        self.audit_reads = AuditReads(read, store, self.app_reads, self.project_reads)
        account = AcmeProcess(
            settings.acme_directory_url,
            settings.data_path / "certs" / "acme-account.key",
            email=settings.acme_email,
            ca_bundle=settings.acme_ca_bundle,
        )
        staging = None
        if settings.acme_staging_directory_url:
            staging = AcmeProcess(
                settings.acme_staging_directory_url,
                settings.data_path / "certs" / "acme-staging-account.key",
                email=settings.acme_email,
                ca_bundle=settings.acme_ca_bundle,
            )
        self.certificates = CertificateService(handler, self.lookup, self.certs, account, staging)
        self.proxy = ProxyServer(
            RouteTable(),
            challenge=self.certificates.challenges.get,
            secured=self.certs.has,
            limits=ProxyLimits(
                header_timeout_s=settings.proxy_header_timeout_s,
                idle_timeout_s=settings.proxy_idle_timeout_s,
                max_connections=settings.proxy_max_connections,
                max_connections_per_ip=settings.proxy_max_connections_per_ip,
            ),
        )
        self.history = HistoryReads(store, read)
        # where each setting came from at start (config.origins): none given, all defaults
        self.instance_settings = InstanceSettings(handler, read, settings, origins or {})
        self.health_reads = HealthReads(store, runner, self.engine)
        self.renewer = Renewer(
            store, runner, read, self.certificates, self.clock, any_name=settings.acme_any_name
        )
        self.routes = RouteKeeper(store, runner, read, self.proxy)
        self.hub = EventHub(store)
        self.resources = ResourceSampler(self.engine, read, settings.resources_interval_s)
        self.runtime_logs = RuntimeLogs(
            read, lambda: self.engine.runtime, lambda: self.engine.problem
        )
        self.recorder = StepRecorder(store)
        self.prober = prober or HttpProber(self.clock)
        self.copy_watch = CopyWatch(
            read, self.recorder, self.lookup, runner, swarm=self.swarm_engine, prober=self.prober
        )
        self.stack_copy_watch = StackCopyWatch(
            read, StackRecorder(store), runner, swarm=self.swarm_engine
        )
        self.swarm_keeper = SwarmKeeper(
            store,
            self.swarm_engine,
            self.clock,
            interval_s=settings.swarm_check_interval_s,
            then=self._watch_copies,
        )
        pipeline = DeployPipeline(
            self.recorder,
            read,
            self.lookup,
            runtime=lambda: self.engine.runtime,
            source=source or GitSource(self.repositories),
            builder=builder or RuntimeBuilder(),
            prober=self.prober,
            clock=self.clock,
            logs=self.logs,
            secrets=self.secrets,
            work_root=settings.data_path / "work",
            drain_s=settings.drain_s,
            swarm=self.swarm_engine,
            registry=self.servers.registry_login,
            build_node=self.servers.build_node,
        )
        self.deployer = Deployer(
            store,
            pipeline,
            clock=self.clock,
            images_kept=settings.images_kept,
            caught_up=runner.wait_until,
        )
        self.stack_deployer = StackDeployer(
            StackPorts(
                store=store,
                recorder=StackRecorder(store),
                runtime=lambda: self.engine.runtime,
                source=pipeline.source,
                builder=pipeline.builder,
                clock=self.clock,
                logs=self.logs,
                secrets=self.secrets,
                work_root=settings.data_path / "stacks",
                data_dir=settings.data_path,
                allowances=self.stack_allowances.allowances,
                images=settings.database_images,
                swarm=self.swarm_engine,
                registry=self.servers.registry_login,
            ),
            read,
            drain_s=settings.drain_s,
        )
        self.environment_networks = EnvironmentNetworks(store, lambda: self.engine.runtime)
        self.database_keeper = DatabaseKeeper(
            store,
            read,
            lambda: self.engine.runtime,
            self.secrets,
            self.clock,
            images=settings.database_images,
            health_timeout_s=settings.database_health_timeout_s,
        )
        targets = TargetOpener(
            store, self.secrets, settings.backups_path, make_root=settings.backups_dir is None
        )
        backup_worker = BackupWorker(
            store,
            lambda: self.engine.runtime,
            self.database_keeper,
            targets,
            RetentionPruner(store, read, targets, self.clock),
            self.clock,
            verify_timeout_s=settings.backup_verify_timeout_s,
        )
        self.control_plane = ControlPlaneService(handler)
        self.control_plane_backups = ControlPlaneBackups(
            store, settings.data_path, targets, self.clock
        )
        self.control_plane_reactor = ControlPlaneReactor(
            self.control_plane, self.control_plane_backups
        )
        self.database_reactors = DatabaseReactors(
            backup_worker, RestoreWorker(store, backup_worker, self.clock), self.backups
        )
        sender = sender or AppriseSender(settings.notify_allow_private, resolver)
        self.notifier = Notifier(store, runner, read, sender, self.secrets, self.clock)
        self.notifications = NotificationService(handler, read, self.secrets, sender, self.notifier)
        self.jobs = JobService(handler, read, self.lookup)
        self.job_reads = JobReads(read, LogStore(settings.data_path / "logs", keep=RUNS_KEPT))
        specs = JobSpecs(read, self.lookup, pipeline.shared, self.stack_deployer.ports)
        runs = JobRunner(
            RunRecorder(store),
            lambda: self.engine.runtime,
            self.clock,
            LogStore(settings.data_path / "logs", keep=RUNS_KEPT),
            specs.make,
        )
        self.job_scheduler = JobScheduler(store, read, runs, self.clock, specs.owner_name)
        # --- metrics and host alerts ---
        self.host = host or ProcHost(settings.data_path)
        self.metrics = Metrics(
            read=read,
            store=store,
            append_latency=store.append_latency if isinstance(store, SqliteEventStore) else None,
            proxy=self.proxy.stats,
            hub=self.hub,
            resources=self.resources,
            host=self.host,
            data_dir=settings.data_path,
            clock=self.clock,
            token=settings.metrics_token,
        )
        self.storage_watch = StorageWatch(
            store,
            settings.data_path,
            self.clock,
            reserve_bytes=settings.storage_reserve_kib * 1024,
            interval_s=settings.storage_check_interval_s,
        )
        self.host_sampler = HostSampler(
            store,
            self.host,
            thresholds_of(settings),
            self.clock,
            interval_s=settings.host_sample_interval_s,
            window_s=settings.host_window_s,
        )

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        resolver: NameResolver | None = None,
        runtime: ContainerRuntime | None = None,
        source: SourceFetcher | None = None,
        builder: ImageBuilder | None = None,
        prober: HealthProber | None = None,
        clock: Clock | None = None,
        origins: Mapping[str, str] | None = None,
        sender: NoticeSender | None = None,
        host: HostProbe | None = None,
        swarm: SwarmEngine | None = None,
    ) -> Services:
        """Open the stores on `settings.data_path`; `resolver` answers the repository policy's
        name look-ups (the system's resolver when None); the other ports go to `Services`."""
        data = settings.data_path
        if not data.exists():  # one given that exists may be shared: its mode is the owner's
            private_dir(data)
        for folder in ("logs", "certs"):  # owner-only, whatever an older version left
            tighten_tree(data / folder)
        store = await SqliteEventStore.open(data / "events.db", settings.poll_interval_s)
        runner = ProjectionRunner(store, private_sqlite(data / "read.db"), all_projections())
        await runner.open()
        await runner.catch_up()
        read = await ReadModel.open(data / "read.db")
        return cls(
            settings,
            store,
            runner,
            read,
            resolver,
            runtime=runtime,
            source=source,
            builder=builder,
            prober=prober,
            clock=clock,
            origins=origins,
            sender=sender,
            host=host,
            swarm=swarm,
        )

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """Run the projection runner and the engine monitor while the context is open."""
        await self.apps.adopt()  # before anything follows the log: it may append
        start = await self.store.head()
        await fail_interrupted(self.read, self.recorder)
        await self.database_reactors.fail_interrupted()
        await self.stack_deployer.recover()
        await self.job_scheduler.fail_interrupted()
        await self.control_plane_reactor.fail_interrupted()
        listening = await self._start_proxy()
        secure = await self._start_proxy(tls=True)
        metrics = await self._start_metrics()
        async with anyio.create_task_group() as group:
            group.start_soon(_supervised, "projection runner", self.runner.run)
            group.start_soon(_supervised, "engine monitor", self.engine.run)
            group.start_soon(_supervised, "deployer", partial(self.deployer.run, start))
            group.start_soon(_supervised, "event hub", partial(self.hub.run, start))
            if self.has_engine:  # without an engine, no database or stack runs at all
                stacks = partial(self.stack_deployer.run, start)
                group.start_soon(_supervised, "stack deployer", stacks)
                keeper = partial(self.database_keeper.run, start)
                group.start_soon(_supervised, "database keeper", keeper)
                reactors = partial(self.database_reactors.run, start)
                group.start_soon(_supervised, "backups", reactors)
                group.start_soon(_supervised, "backup scheduler", self.database_reactors.schedule)
                jobs = partial(self.job_scheduler.run, start)
                group.start_soon(_supervised, "job scheduler", jobs)
                networks = partial(self.environment_networks.run, start)
                group.start_soon(_supervised, "environment networks", networks)
                servers = partial(self.swarm_keeper.run, start)
                group.start_soon(_supervised, "swarm keeper", servers)
                group.start_soon(_supervised, "swarm watch", self.swarm_keeper.watch)
            if self.settings.resources_interval_s > 0:
                group.start_soon(_supervised, "resource sampler", self.resources.run)
            if self.host_sampler.thresholds and self.settings.host_sample_interval_s > 0:
                group.start_soon(_supervised, "host sampler", self.host_sampler.run)
            group.start_soon(_supervised, "storage watch", self.storage_watch.run)
            # the control plane's backups need no engine: they copy the data directory
            backups = partial(self.control_plane_reactor.run, start)
            group.start_soon(_supervised, "control-plane backups", backups)
            schedule = self.control_plane_reactor.schedule
            group.start_soon(_supervised, "control-plane backup scheduler", schedule)
            group.start_soon(_supervised, "reconciler", self._reconcile_when_engine_ready)
            group.start_soon(_supervised, "notifier", self.notifier.run)
            if listening is not None:
                group.start_soon(_supervised, "route keeper", partial(self.routes.run, start))
                if self.settings.acme_auto:
                    group.start_soon(_supervised, "renewer", partial(self.renewer.run, start))
            try:
                yield
            finally:
                group.cancel_scope.cancel()
                for server in (listening, secure, metrics):
                    if server is not None:
                        server.close()

    async def _start_proxy(self, tls: bool = False) -> asyncio.Server | None:
        """Listen for the apps' traffic (plain, or TLS with each domain's certificate picked
        by SNI); a port that cannot be bound is logged, not fatal (the API and deployments
        keep working)."""
        settings = self.settings
        if not settings.proxy_enabled:
            return None
        port = settings.proxy_https_port if tls else settings.proxy_http_port
        scheme, key = ("https", "proxy_https_port") if tls else ("http", "proxy_http_port")
        context = self.certs.server_context() if tls else None
        try:
            listening = await self.proxy.serve(settings.proxy_host, port, context)
        except OSError as exc:
            log.error(
                "the proxy cannot listen on %s:%d (%s): set %s, or proxy_enabled = false",
                settings.proxy_host,
                port,
                exc.strerror or exc,
                key,
            )
            return None
        log.info("proxy on %s://%s:%d", scheme, settings.proxy_host, port)
        return listening

    async def _start_metrics(self) -> asyncio.Server | None:
        """/metrics on metrics_listen, when set; an address that cannot be bound is logged,
        not fatal, as the proxy's is."""
        address = self.settings.metrics_address
        if address is None:
            return None
        try:
            listening = await serve_metrics(*address, self.metrics.render)
        except OSError as exc:
            log.error("metrics cannot listen on %s (%s)", self.settings.metrics_listen, exc)
            return None
        log.info("metrics on http://%s/metrics", self.settings.metrics_listen)
        return listening

    async def _reconcile_when_engine_ready(self) -> None:
        await self.engine.ready.wait()
        # it decides from the read model: that must include what fail_interrupted recorded
        await self.runner.wait_until(await self.store.head())
        runtime = self.engine.runtime
        if runtime is not None:
            await self._reconcile_services(runtime)  # before the containers: tasks' among them
            await reconcile_engine(self.read, self.recorder, runtime, self.deployer, self._rebuild)
            await self.database_reactors.remove_throwaways()
            await self.database_reactors.roll_back_upgrades()  # before: it skips those
            await self.database_keeper.reconcile()
            await self.stack_deployer.sweep()
            await self.revive_stacks()
            await self.job_scheduler.sweep(runtime)

    async def _reconcile_services(self, runtime: ContainerRuntime) -> None:
        """While this engine manages a swarm, the registry Rivetr runs is started again if
        its service is gone, the services of releases that are over go, and live releases
        whose service is gone are deployed again (pushed to that registry)."""
        try:
            swarm = self.swarm_engine()
            info = await swarm.swarm()
            if info is not None and info.manager:
                try:
                    await self.servers.revive_registry()
                except (ContainerError, EngineUnavailable) as exc:  # recorded; the rest goes on
                    log.error("the servers' registry could not be started again: %s", exc)
                await remove_orphan_services(self.read, self.recorder, swarm)
                await revive_lost_services(
                    self.read, self.recorder, swarm, runtime, self._redeploy, self._rebuild
                )
        except (ContainerError, EngineUnavailable) as exc:
            log.warning("could not compare the swarm's services with the log: %s", exc)

    async def _watch_copies(self) -> None:
        """The copies of apps and of stacks' services on servers, at each look at the swarm."""
        await self.copy_watch.look()
        await self.stack_copy_watch.look()

    async def revive_stacks(self) -> None:
        """Stacks the log says are live but the engine runs nothing of (a restore onto a new
        machine): each deployed again from the commit (or inline file) its live release ran."""
        for stack_id, commit in await self.stack_deployer.lost():
            log.warning("stack %s runs nothing of its live release: deploying it again", stack_id)
            try:
                again = DeployStack(stack_id=stack_id, commit=commit, trigger="rebuild")
                await self.stacks.deploy(SYSTEM, again)
            except DomainError as exc:
                log.error("stack %s cannot be deployed again: %s", stack_id, exc)

    async def _rebuild(self, app: str, commit: str, deployment_id: str) -> str:
        """A live release's image is gone from the engine: deploy its commit again."""
        return await self.deployments.request(
            SYSTEM, app, commit=commit, trigger="rebuild", deployment_id=deployment_id
        )

    async def _redeploy(self, app: str, image: str, commit: str | None, deployment_id: str) -> str:
        """A live release's service is gone from the swarm: deploy its image again."""
        return await self.deployments.request(
            SYSTEM, app, image=image, commit=commit, trigger="rebuild", deployment_id=deployment_id
        )

    async def close(self) -> None:
        await self.engine.close()
        await self.read.close()
        await self.runner.close()
        await self.store.close()


async def _supervised(name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Keep background work going: a crash is logged and the work restarted, never fatal to the
    web app."""
    while True:
        try:
            await work()
            return
        except StorageFault as fault:  # the disk, not a bug: one line, no traceback
            log.error(
                "%s cannot write: %s; again in %d s", name, fault.describe(), _RESTART_DELAY_S
            )
            await anyio.sleep(_RESTART_DELAY_S)
        except Exception:
            log.exception("%s crashed; restarting in %d s", name, _RESTART_DELAY_S)
            await anyio.sleep(_RESTART_DELAY_S)


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Services]:
    services = await Services.open(settings)
    try:
        yield services
    finally:
        await services.close()
