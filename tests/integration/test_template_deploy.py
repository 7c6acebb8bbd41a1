"""One template deployed end to end on the real Docker engine: Miniflux, as the catalogue has
it, with the instance's image map standing in local images for the two it names (no registry
is reachable here). PostgreSQL is the server built from Debian's package; Miniflux is a stand-in
built on it that does what the template asks of Miniflux: it takes DATABASE_URL (with the
generated password), connects with it, serves on 8080, and answers `-healthcheck auto`. So the
template's variables, generated secrets, its `service_healthy` ordering, health checks, volume
and domain route are all exercised: the page through the proxy says whom the database let in."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import httpx
import pytest

from rivetr.domain.access import SYSTEM
from rivetr.domain.stack_commands import CreateStackFromTemplate
from rivetr.service.reactors.stack_specs import volume_name
from tests.database_images import POSTGRES
from tests.integration.database_servers import DOCKER, RealEngine, connect_client, images_in
from tests.integration.stacks import deleted, deployed, serving
from tests.net import free_port

pytestmark = [pytest.mark.anyio]

DOMAIN = "rss.test"
STAND_IN = "rivetr-test/miniflux-stand-in:1"
STAND_IN_FILES = {
    "Dockerfile": f"""FROM {POSTGRES.tag}
COPY --from=rivetr/busybox:latest /bin/busybox /usr/local/bin/busybox
COPY miniflux /usr/bin/miniflux
RUN chmod 755 /usr/bin/miniflux
ENTRYPOINT ["/usr/bin/miniflux"]
CMD []
""",
    # what the template asks of Miniflux, and no more
    "miniflux": """#!/bin/sh
set -eu
if [ "${1:-}" = -healthcheck ]; then
    exec busybox wget -q -O /dev/null http://127.0.0.1:8080/
fi
user="$(psql "$DATABASE_URL" -tAc 'select current_user')"
mkdir -p /tmp/www
echo "miniflux for $BASE_URL as $user" > /tmp/www/index.html
exec busybox httpd -f -p 8080 -h /tmp/www
""",
}


def build_stand_in(engine: RealEngine) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, text in STAND_IN_FILES.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive.seek(0)
    client = connect_client(engine)
    try:
        client.images.build(fileobj=archive, custom_context=True, tag=STAND_IN, rm=True)
    finally:
        client.close()


@pytest.mark.parametrize("engine", [DOCKER])
async def test_the_miniflux_template_deploys_and_serves_through_the_proxy(
    tmp_path: Path, engine: RealEngine, request: pytest.FixtureRequest
) -> None:
    images_in(engine, request, POSTGRES)
    build_stand_in(engine)
    image_map = {"postgres:16.6-alpine": POSTGRES.tag, "miniflux/miniflux:2.2.6": STAND_IN}
    settings = {
        "proxy_host": "127.0.0.1",
        "proxy_http_port": free_port(),
        "proxy_https_port": free_port(),
        "database_images": image_map,
    }
    async with serving(tmp_path, engine, **settings) as services:
        runtime = services.engine.runtime
        assert runtime is not None
        stack_id, secrets = await services.stacks.from_template(
            SYSTEM, CreateStackFromTemplate(template="miniflux", domain=DOMAIN)
        )
        try:
            assert set(secrets) == {"POSTGRES_PASSWORD", "ADMIN_PASSWORD"}
            release = await deployed(services, stack_id)
            assert release.status == "live", (release.failed_service, release.failure)
            assert release.waves == (("db",), ("miniflux",))
            port = services.settings.proxy_http_port
            async with httpx.AsyncClient() as client:
                page = await client.get(
                    f"http://127.0.0.1:{port}/", headers={"Host": DOMAIN}, timeout=5
                )
            assert page.status_code == 200
            assert page.text.strip() == f"miniflux for https://{DOMAIN} as miniflux"
        finally:
            await deleted(services, stack_id)
            await runtime.remove_volume(volume_name(stack_id, "db-data"))
