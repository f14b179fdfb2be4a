"""`--help` of both programs: each command listed once with its short help, and every
option explained."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from exporter.cli import cli as exporter_cli
from tuner.cli import cli as tuner_cli

PROGRAMS = {"eni-tuner": tuner_cli, "eni-exporter": exporter_cli}


def options(group: click.Group) -> list[tuple[str, click.Parameter]]:
    out: list[tuple[str, click.Parameter]] = [(group.name or "", p) for p in group.params]
    for name, command in group.commands.items():
        out += [(name, p) for p in command.params]
    return out


@pytest.mark.parametrize("program", PROGRAMS)
def test_every_option_has_help(program: str) -> None:
    missing = [
        f"{command} {param.opts[0]}"
        for command, param in options(PROGRAMS[program])  # type: ignore[arg-type]
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert missing == []


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_lists_each_command_once_with_its_short_help(program: str) -> None:
    group = PROGRAMS[program]
    assert isinstance(group, click.Group)
    text = CliRunner().invoke(group, ["--help"]).stdout
    for name, command in group.commands.items():
        listed = [line for line in text.splitlines() if line.split()[:1] == [name]]
        assert len(listed) == 1, (name, text)
        short = command.get_short_help_str(limit=200)
        assert short.split()[0] in listed[0] and "..." not in listed[0]


@pytest.mark.parametrize("program", PROGRAMS)
def test_no_help_shows_a_range_of_none(program: str) -> None:
    """Before (adversarial review, session 12): `eni-exporter simulate --help` printed
    `[x<=None]` for --duration, --faults-until and the three fault rates."""
    group = PROGRAMS[program]
    assert isinstance(group, click.Group)
    for name in group.commands:
        text = CliRunner().invoke(group, [name, "--help"]).stdout
        assert "None" not in text, (name, [ln for ln in text.splitlines() if "None" in ln])
