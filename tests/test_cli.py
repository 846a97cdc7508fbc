"""The command line: help everywhere, and a user's mistake gives `Error: ...` and exit 1."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from kamrisk._cli import app, main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kamrisk", *args], capture_output=True, text=True,
                          timeout=120)


def test_every_command_has_help(capsys):
    import typer.main

    commands = typer.main.get_command(app).commands
    assert {"validate", "simulate"} <= set(commands)
    for name, command in commands.items():
        main([name, "--help"])
        out = capsys.readouterr().out
        assert "Usage:" in out and name in out
        assert (command.help or "").split(".")[0].split("\n")[0][:30] in " ".join(out.split())


@pytest.mark.parametrize(
    "args, message",
    [
        (["validate", "/no/such/folder"], "Error: /no/such/folder: no such data folder"),
        (["validate", "--bogus"], "Error: No such option: --bogus"),
        (["no-such-command"], "Error: No such command"),
    ],
)
def test_mistakes_exit_1_without_traceback(args, message):
    result = run(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_prints_errors_for_bad_data(tmp_path):
    pd.DataFrame({"account_id": ["A"], "order_date": ["tomorrow"], "amount": [1.0]}).to_csv(
        tmp_path / "orders.csv", index=False)
    result = run("validate", str(tmp_path))
    assert result.returncode == 1
    assert "orders.csv, column 'order_date': 1 value(s) not a date" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_reports_a_valid_folder(tmp_path):
    pd.DataFrame({"account_id": ["A", "A"], "order_date": ["2024-01-01", "2024-01-01"],
                  "amount": [1.0, 1.0]}).to_csv(tmp_path / "orders.csv", index=False)
    result = run("validate", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert "WARNING" in result.stdout and "1 exact duplicate row(s)" in result.stdout
