"""Every command group and command is registered on the root CLI and explains itself."""

import pytest
from typer.testing import CliRunner

from brickfield.cli import app

RUNNER = CliRunner()


@pytest.mark.parametrize("args", [["lego", "generate"], ["lego", "legolize"], ["lego", "dataset"],
                                  ["agent", "run"], ["design", "search"], ["machine", "simulate"]])
def test_command_help(args):
    result = RUNNER.invoke(app, [*args, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and "Traceback" not in result.output


def test_root_lists_every_group():
    out = RUNNER.invoke(app, ["--help"]).output
    for group in ("lego", "machine", "agent", "design"):
        assert group in out
