"""The `brickfield` command line. Subcommand groups per domain: `lego`, `machine`."""

from __future__ import annotations

import typer

from brickfield import __version__

app = typer.Typer(help="brickfield: verify, simulate and score LLM-designed brick structures and machines.",
                  no_args_is_help=True, add_completion=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"brickfield {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """brickfield command line."""


def _register_groups() -> None:
    from brickfield.lego.cli import app as lego_app
    from brickfield.machines.cli import app as machine_app

    app.add_typer(lego_app, name="lego", help="LEGO brick structures: check, score, export.")
    app.add_typer(machine_app, name="machine",
                  help="Besiege-style machines: check, simulate, query, export, levels.")


_register_groups()


def main() -> None:
    """Entry point of the ``brickfield`` console script."""
    app()


if __name__ == "__main__":
    main()
