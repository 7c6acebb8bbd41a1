"""Certificates from a real ACME CA: Pebble, Let's Encrypt's test server, with its DNS helper
resolving every name to 127.0.0.1 so that its HTTP-01 validation reaches Rivetr's proxy.

Issues a certificate for an app's domain, serves HTTPS with it (the chain verified against
Pebble's root), and records a failed validation with the CA's error detail while the app keeps
serving plain HTTP."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import anyio
import pytest
from acme.client import _renewal_info_path_component
from cryptography import x509

from rivetr.adapters.acme import AcmeAccount, AcmeError, ari_cert_id
from rivetr.adapters.acme_process import AcmeProcess
from rivetr.adapters.clock import SystemClock
from rivetr.bootstrap import Services
from rivetr.domain.access import SYSTEM
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.events import CertificateInstalled
from rivetr.domain.stack_commands import CreateStack, DeleteStack, StackRouteInput
from tests.integration.releases import running_services, serving
from tests.integration.test_proxy import start_backend
from tests.integration.test_tls import http_get, https_get
from tests.net import free_port
from tests.pebble import Pebble

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.acme]

STACK = "services:\n  web:\n    image: nginx:1.27\n"


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    if shutil.which("pebble") is None:
        pytest.fail("pebble is not installed: apt-get install -y pebble (tests/run does)")
    running = Pebble(tmp_path_factory.mktemp("pebble"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
async def services(tmp_path: Path, pebble: Pebble) -> AsyncIterator[Services]:
    async with running_services(
        tmp_path / "data",
        proxy_http_port=pebble.http_port,
        acme_directory_url=pebble.directory,
        acme_ca_bundle=pebble.ca_file,
    ) as services:
        yield services


async def test_a_certificate_is_issued_over_http_01_and_serves_https(services, pebble):
    backend, port = start_backend("shop")
    await serving(services, "shop", ["shop.test"], port)

    info = await services.certificates.issue(SYSTEM, "shop", "shop.test")

    assert info.names == ["shop.test"]
    assert "Pebble" in info.issuer
    root = await anyio.to_thread.run_sync(pebble.root)
    answer = await anyio.to_thread.run_sync(
        https_get, services.settings.proxy_https_port, "shop.test", root
    )
    assert answer.startswith(b"HTTP/1.1 200")
    [installed] = [e for e in await services.store.read_all() if e.type == "certificate.installed"]
    assert (installed.event.source, installed.event.fingerprint) == ("acme", info.fingerprint)
    account_key = Path(services.settings.data_dir) / "certs" / "acme-account.key"
    assert oct(account_key.stat().st_mode & 0o777) == "0o600"
    assert services.certificates.challenges == {}  # withdrawn once the order is done
    [view] = await services.read.certificates.of_app((await services.lookup.by_name("shop")).app_id)
    assert (view.source, view.not_after, view.last_error) == ("acme", info.not_after, None)

    # renewal information (ARI): Debian's Pebble (2.4) offers none, so none is recorded, the
    # third-of-the-lifetime rule stays, and the CA is asked again in a day
    chain = services.certs.chain("shop.test")
    assert chain is not None
    leaf = x509.load_pem_x509_certificate(chain)
    assert ari_cert_id(chain) == _renewal_info_path_component(leaf)  # the acme package's own
    assert services.certificates.account is not None
    assert await anyio.to_thread.run_sync(services.certificates.account.renewal_window, chain) is (
        None
    )
    await services.renewer.ask_advice()
    [(key, ask_at)] = services.renewer._ask_at.items()
    assert key == ("shop.test", info.fingerprint)
    assert ask_at - services.clock.now() > timedelta(hours=23)
    types = {e.type for e in await services.store.read_all()}
    assert "certificate.renewal_advised" not in types
    backend.shutdown()


async def test_a_failed_validation_is_recorded_with_the_cas_detail_and_http_keeps_working(
    services, pebble
):
    backend, port = start_backend("shop")
    await serving(services, "shop", ["broken.test"], port)
    pebble.resolve("broken.test", "127.0.0.2")  # Pebble looks for the challenge elsewhere

    with pytest.raises(InvalidCommand, match=r"no certificate for broken\.test"):
        await services.certificates.issue(SYSTEM, "shop", "broken.test")

    [failed] = [e for e in await services.store.read_all() if e.type == "certificate.failed"]
    assert failed.event.detail.startswith("broken.test: urn:ietf:params:acme:error:")
    assert "127.0.0.2" in failed.event.detail
    # this host's own resolver knows no broken.test: the failure says so
    assert "broken.test does not resolve from this host: point it here first" in (
        failed.event.detail
    )
    plain = await anyio.to_thread.run_sync(http_get, pebble.http_port, "broken.test")
    assert plain.startswith(b"HTTP/1.1 200")  # no certificate: no redirect, the app still serves
    [view] = await services.read.certificates.of_app((await services.lookup.by_name("shop")).app_id)
    assert view.source is None
    assert view.last_error == failed.event.detail
    backend.shutdown()


async def test_before_ordering_a_name_is_probed_through_the_proxy_the_way_the_ca_will(services):
    certificates = services.certificates
    here = await certificates.reaches_here("localhost", services.settings.proxy_http_port)
    elsewhere = await certificates.reaches_here("localhost", free_port())
    unknown = await certificates.reaches_here("nowhere.invalid")

    assert here is None  # the probe's token came back through this Rivetr's own proxy
    assert elsewhere is not None
    assert "localhost resolves to" in elsewhere
    assert "127.0.0.1" in elsewhere
    assert "did not answer as this Rivetr" in elsewhere
    assert unknown == "nowhere.invalid does not resolve from this host: point it here first"
    assert certificates.challenges == {}  # the probes' tokens are withdrawn


async def test_the_renewer_orders_a_new_domain_by_itself_and_renews_when_a_third_is_left(
    tmp_path, pebble
):
    backend, port = start_backend("shop")
    clock = AheadClock()
    async with running_services(
        tmp_path / "data",
        clock,
        proxy_http_port=pebble.http_port,
        acme_directory_url=pebble.directory,
        acme_ca_bundle=pebble.ca_file,
        acme_auto=True,
        acme_any_name=True,  # Pebble, a private CA: it certifies .test names
    ) as services:
        await serving(services, "shop", ["auto.test"], port)

        first = await installed(services, count=1)
        lifetime = datetime.fromisoformat(first.not_after) - datetime.fromisoformat(
            first.not_before
        )
        clock.ahead = lifetime * 0.72  # past the renewal window
        services.renewer._wake.set()
        second = await installed(services, count=2)

    assert second.serial != first.serial
    assert (first.source, second.source) == ("acme", "acme")
    backend.shutdown()


async def test_a_stacks_domain_is_certified_by_the_renewer_and_served_over_https(tmp_path, pebble):
    async with running_services(
        tmp_path / "data",
        proxy_http_port=pebble.http_port,
        acme_directory_url=pebble.directory,
        acme_ca_bundle=pebble.ca_file,
        acme_auto=True,
        acme_any_name=True,
    ) as services:
        route = StackRouteInput(service="web", port=80, domains=["stacked.test"])
        stack_id, _ = await services.stacks.create(
            SYSTEM, CreateStack(name="blog", compose=STACK, routes=[route])
        )

        first = await installed(services, count=1)

        assert (first.domain, first.app, first.stack_id) == ("stacked.test", "blog", stack_id)
        root = await anyio.to_thread.run_sync(pebble.root)
        answer = await anyio.to_thread.run_sync(
            https_get, services.settings.proxy_https_port, "stacked.test", root
        )
        # the chain verified against Pebble's root; no release is live yet: the proxy says so
        assert answer.startswith(b"HTTP/1.1 503")
        [view] = await services.read.certificates.of_app(stack_id)
        assert (view.app, view.source) == ("blog", "acme")
        entry = [e for e in await services.store.read_all() if e.type == "certificate.installed"]
        assert entry[0].resource == stack_id  # the stack's, in its team's audit

        await services.stacks.delete(SYSTEM, DeleteStack(stack_id=stack_id))
        await services.runner.wait_until(await services.store.head())
        assert await services.read.certificates.of_app(stack_id) == []


async def installed(services: Services, count: int) -> CertificateInstalled:
    found = await recorded(services, "certificate.installed", count)
    assert isinstance(found, CertificateInstalled)
    return found


class AheadClock(SystemClock):
    """The system's clock, its time of day moved on by `ahead`: the renewer's view of a later
    day, while timeouts and the CA keep real time."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def now(self) -> datetime:
        return super().now() + self.ahead


async def recorded(services: Services, type_: str, count: int) -> object:
    """Wait for the `count`-th event of `type_` and return its body."""
    with anyio.fail_after(60):
        while True:
            found = [e.event for e in await services.store.read_all() if e.type == type_]
            if len(found) >= count:
                return found[count - 1]
            await anyio.sleep(0.2)


async def test_a_retry_is_rehearsed_on_the_staging_directory_first(tmp_path, pebble):
    backend, port = start_backend("shop")
    pebble.resolve("retry.test", "127.0.0.2")  # the first order fails validation
    clock = AheadClock()
    async with running_services(
        tmp_path / "data",
        clock,
        proxy_http_port=pebble.http_port,
        acme_directory_url=pebble.directory,
        acme_staging_directory_url=pebble.directory,  # Pebble plays both parts here
        acme_ca_bundle=pebble.ca_file,
        acme_auto=True,
        acme_any_name=True,  # Pebble, a private CA: it certifies .test names
    ) as services:
        await serving(services, "shop", ["retry.test"], port)
        await recorded(services, "certificate.failed", 1)
        staging_key = Path(services.settings.data_dir) / "certs" / "acme-staging-account.key"
        assert not staging_key.exists()  # a first order goes straight to the real CA

        pebble.resolve("retry.test", None)  # fixed: the name points here again
        clock.ahead = timedelta(minutes=2)  # past the 1 min pause
        services.renewer._wake.set()
        await installed(services, count=1)

    assert staging_key.exists()  # the retry was rehearsed on staging first
    backend.shutdown()


@pytest.mark.parametrize(
    ("directory", "because"),
    [
        ("https://acme.invalid/directory", "its name does not resolve from this host (no DNS, or"),
        (f"https://127.0.0.1:{free_port()}/directory", "it refused the connection"),
    ],
    ids=["no-dns", "refused"],
)
@pytest.mark.parametrize("kind", [AcmeAccount, AcmeProcess], ids=["in-process", "child"])
def test_an_unreachable_ca_is_explained_in_a_sentence_with_the_detail_kept_apart(
    tmp_path, directory, because, kind
):
    account = kind(directory, tmp_path / "account.key")

    with pytest.raises(AcmeError) as failed:
        account.order("shop.example.com", lambda token, key: None, lambda token: None)

    host = directory.split("/")[2].split(":")[0]
    assert str(failed.value).startswith(
        f"the certificate authority at {host} cannot be reached: {because}"
    )
    assert failed.value.technical  # the library's own words, for the folded-away detail
    assert failed.value.technical not in str(failed.value)


def test_the_child_process_orders_asks_for_renewal_and_leaves_the_service_without_acme(
    tmp_path, pebble
):
    """The service's CA calls run in a child process: the challenge answer is published in
    the service (and withdrawn after), the certificate and the renewal window come back, and
    the service never imports the acme package."""
    import subprocess
    import sys

    probe = f"""
import sys, threading
from pathlib import Path
from rivetr.adapters.acme_process import AcmeProcess
account = AcmeProcess({pebble.directory!r}, Path({str(tmp_path / "account.key")!r}),
                      ca_bundle={pebble.ca_file!r})
served, seen = {{}}, []
def publish(token, key):
    served[token] = key
    seen.append(token)
import http.server
class Challenges(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        key = served.get(self.path.rsplit("/", 1)[-1])
        self.send_response(200 if key else 404)
        self.end_headers()
        self.wfile.write((key or "").encode())
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", {pebble.http_port}), Challenges)
threading.Thread(target=server.serve_forever, daemon=True).start()
issued = account.order("child.example.test", publish, served.pop)
window = account.renewal_window(issued.chain_pem)
assert seen and not served, (seen, served)
assert b"BEGIN CERTIFICATE" in issued.chain_pem and b"PRIVATE KEY" in issued.key_pem
assert window is None or window.start < window.end
assert not {{"acme", "josepy", "OpenSSL"}} & set(sys.modules), "acme imported in the service"
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=180
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_a_child_that_dies_is_an_acme_error_with_its_last_words(tmp_path):
    """Rivetr's own failure in the child (here: the account key's path is a folder) is not a
    CA's answer: the error names what the child said last and keeps its whole output apart."""
    account = AcmeProcess(f"https://127.0.0.1:{free_port()}/dir", tmp_path)

    with pytest.raises(AcmeError) as failed:
        account.renewal_window(b"-----BEGIN CERTIFICATE-----\n")

    assert str(failed.value).startswith("the ACME worker failed: FileExistsError")
    assert failed.value.technical is not None
    assert "Traceback" in failed.value.technical
