"""The ``kamrisk`` command line: a thin layer over the Python API.

A user's mistake (bad path, bad data, bad option) prints ``Error: <message>`` and exits 1; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ._errors import KamriskError

app = typer.Typer(
    name="kamrisk",
    help="Which key accounts are about to defect, why, and what to do about it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _echo(message: str) -> None:
    typer.echo(message)


@app.command()
def validate(
    data: Annotated[Path, typer.Argument(help="Data folder: orders (required), events, accounts, mapping.yaml.")],
) -> None:
    """Check a data folder against the data contract and print every problem found."""
    import warnings

    from ._errors import DataWarning
    from ._schema import load_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # they are printed in the report below
        book = load_data(data)
    _echo(f"{data}: valid. {book!r}")
    _echo(str(book.report))


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the simulated book to.")],
    accounts: Annotated[int, typer.Option(min=10, help="Number of key accounts.")] = 2000,
    months: Annotated[int, typer.Option(min=13, help="Months of history.")] = 36,
    start: Annotated[str, typer.Option(help="First day of the history, YYYY-MM-DD.")] = "2023-01-01",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same book.")] = 7,
    messy: Annotated[bool, typer.Option(help="Add what real exports have: duplicates, returns, own "
                                              "event names with a mapping.yaml, late records.")] = False,
) -> None:
    """Simulate a book of key accounts with planted defections (the embedded default data)."""
    from ._simulate import simulate as run

    book = run(accounts=accounts, months=months, start=start, seed=seed, messy=messy, out=out)
    _echo(f"Wrote a simulated book to {out}: {book.summary()}")


# -- entry point ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 1 with ``Error: ...`` on a user's mistake."""
    from typer import Abort

    try:  # recent typer vendors click; older versions use the click package
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover
        from click.exceptions import ClickException

    try:
        app(args=argv, standalone_mode=False)
    except KamriskError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(1)
    except ClickException as exc:  # bad option, missing argument, bad value
        if type(exc).__name__ == "NoArgsIsHelpError":  # plain `kamrisk`: the help was printed
            sys.exit(0)
        typer.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(1)
    except FileNotFoundError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
