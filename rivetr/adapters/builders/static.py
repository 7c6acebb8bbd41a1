"""The static builder: a site directory served by busybox httpd from the local busybox image.

The image is built from a generated Dockerfile in a temporary build context holding a copy of
the site; nothing is ever written into the user's checkout.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import anyio.to_thread

from rivetr.adapters.builders.detect import contained, staticfile_root
from rivetr.adapters.runtime.base import BuildFailed, ContainerRuntime
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image
from rivetr.domain.settings import BuildSettings


def static_dockerfile(port: int) -> str:
    """The generated Dockerfile: the copied site under /www, served on `port`."""
    return (
        f"FROM {BUSYBOX_IMAGE}\n"
        "COPY site/ /www/\n"
        f"EXPOSE {port}\n"
        f'CMD ["httpd", "-f", "-v", "-p", "{port}", "-h", "/www"]\n'
    )


def site_dir(source: Path, settings: BuildSettings) -> Path:
    """The directory to serve: build.static_dir, else the Staticfile root, else public/ when it
    holds an index.html, else the app root (build.context). Always inside `source`.

    Raises:
        BuildFailed: the directory is outside the repository, missing, has no index.html, or
            the app asks for basic auth (Staticfile.auth), which this builder cannot give.
    """
    app = contained(source, settings.context)
    if app is None or not app.is_dir():
        raise BuildFailed(
            f"build.context {settings.context!r} is not a directory in the repository"
        )
    if (app / "Staticfile.auth").exists():
        # Serving it without the password it asks for would publish a private site.
        raise BuildFailed(
            "Staticfile.auth asks for HTTP basic auth, which the static builder does not "
            "provide: remove Staticfile.auth, or add a Dockerfile that serves the site"
        )
    if settings.static_dir is not None:
        chosen, setting = settings.static_dir, "build.static_dir"
    elif (root := staticfile_root(app)) is not None:
        chosen, setting = root, "the Staticfile root"
    elif (app / "public" / "index.html").is_file():
        chosen, setting = "public", "public/"
    else:
        chosen, setting = ".", "the repository root"
    site = contained(app, chosen)
    if site is None or not site.is_relative_to(source.resolve()):
        raise BuildFailed(f"{setting} {chosen!r} leads outside the repository")
    if not site.is_dir():
        raise BuildFailed(f"{setting} {chosen!r} is not a directory in the repository")
    if not (site / "index.html").is_file():
        raise BuildFailed(
            f"no index.html in {setting} ({chosen!r}): add one, or set build.static_dir "
            "to the directory that holds the site"
        )
    return site


async def build_static(
    runtime: ContainerRuntime,
    source: Path,
    settings: BuildSettings,
    port: int,
    tag: str,
    labels: dict[str, str],
    on_output: Callable[[str], None] | None,
) -> str:
    """Build an image serving the site in `source` on `port` into `tag`; return the image id."""
    site = site_dir(source, settings)
    await ensure_busybox_image(runtime)
    context = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, "", "rivetr-static-"))
    try:
        await anyio.to_thread.run_sync(_fill_context, context, site, port)
        return await runtime.build_image(context, tag, labels=labels, on_output=on_output)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(shutil.rmtree, context, True)


def _fill_context(context: Path, site: Path, port: int) -> None:
    # Symlinks stay links: following one could copy a file from outside the checkout.
    shutil.copytree(site, context / "site", symlinks=True, ignore=shutil.ignore_patterns(".git"))
    (context / "Dockerfile").write_text(static_dockerfile(port))
