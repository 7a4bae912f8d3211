"""The `brickfield` command line. Subcommand groups: `lego`, `machine`, `agent`.

Every evaluating command goes through the domain contract (``core.get_domain(...).task(...)`` and
``evaluate_text`` / ``core.evaluate_many``) and prints the ``Evaluation`` record with ``--json``; record
layouts and exit codes: ``docs/cli_records.md``."""

from __future__ import annotations

import typer

from brickfield import __version__
from brickfield.core.cliutil import GuardedGroup, run_guarded

HELP = """brickfield: verify, simulate and score LLM-designed brick structures and machines.

Exit codes (every command): 0 ok, 1 the design is invalid/unstable or its episode was stopped,
2 unreadable or unparseable input, refused (over a limit) or a usage error. Errors are one line
`error: ...` on stderr, never a traceback."""

app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, cls=GuardedGroup,
                  pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"brickfield {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """brickfield command line."""


def _register_groups() -> None:
    from brickfield.agents.cli import app as agent_app
    from brickfield.lego.cli import app as lego_app
    from brickfield.machines.cli import app as machine_app

    app.add_typer(lego_app, name="lego",
                  help="LEGO brick structures: check, score, generate, legolize, dataset, export.")
    app.add_typer(machine_app, name="machine",
                  help="Besiege-style machines: check, simulate, query, export, levels.")
    app.add_typer(agent_app, name="agent",
                  help="LLM agent workflows that design machines (single, iterative + search, hierarchical).")
    design_app = typer.Typer(no_args_is_help=True, add_completion=False, cls=GuardedGroup,
                             help="Designers that need no LLM: evolutionary and random search.")
    from brickfield.agents.offline.cli import search_cmd

    design_app.command("search")(search_cmd)
    app.add_typer(design_app, name="design")


_register_groups()


def main() -> None:
    """Entry point of the ``brickfield`` console script (and ``python -m brickfield``): an unexpected
    exception prints ``error: <type>: <message>`` and exits 2 instead of a traceback."""
    run_guarded(app)


if __name__ == "__main__":
    main()
