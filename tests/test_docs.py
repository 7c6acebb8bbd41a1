"""The README keeps up with the code: every CLI command, every setting and every template is
documented."""

from __future__ import annotations

import argparse
from pathlib import Path

from rivetr import cli
from rivetr.adapters.template_catalogue import TemplateCatalogue
from rivetr.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def command_paths(parser: argparse.ArgumentParser, prefix: str = "rivetr") -> list[str]:
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = command_paths(sub, f"{prefix} {name}")
                paths.extend(nested or [f"{prefix} {name}"])
    return paths


def test_every_cli_command_is_in_the_readme() -> None:
    missing = [path for path in command_paths(cli.parser()) if f"`{path}" not in README]
    assert not missing, f"README lacks: {missing}"


def test_every_setting_is_in_the_readme() -> None:
    missing = [key for key in Settings.__struct_fields__ if f"`{key}`" not in README]
    assert not missing, f"README's configuration table lacks: {missing}"


def test_the_readme_lists_every_template() -> None:
    section = README.split("\n## Templates\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    expected = [
        f"| {template.name} | `{template.slug}` | {template.category} |"
        for template in TemplateCatalogue.packaged().templates
    ]
    assert rows == expected, "README's template table differs from rivetr/templates"


def test_the_readme_names_every_metric_served(tmp_path: Path) -> None:
    import asyncio

    from rivetr.bootstrap import Services

    async def scrape() -> str:
        services = await Services.open(Settings(data_dir=str(tmp_path), engine="none"))
        try:
            return await services.metrics.render()
        finally:
            await services.close()

    section = README.split("\n## Metrics and alerts\n", 1)[1].split("\n## ", 1)[0]
    served = [line.split()[2] for line in asyncio.run(scrape()).splitlines() if "# TYPE" in line]
    assert len(served) > 15
    missing = [name for name in served if f"`{name}" not in section]
    assert not missing, f"README's metrics table lacks: {missing}"
