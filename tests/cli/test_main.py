import pytest

from proconsul.cli.main import COMMANDS, usage

from .conftest import Runner


def test_usage_lists_top_level_commands_aligned() -> None:
    lines = usage().splitlines()
    assert lines[:3] == [
        "Usage: proconsul [--version] [--help] <command> [<args>]",
        "",
        "Available commands are:",
    ]
    width = max(len(name) for name in COMMANDS if " " not in name)  # names padded to the longest
    assert f"    {'agent'.ljust(width)}    Runs a Consul agent" in lines
    assert f"    {'kv'.ljust(width)}    Interact with the key-value store" in lines
    assert not any(" get " in line for line in lines)


def test_every_command_has_help_and_group_parents() -> None:
    for name, command in COMMANDS.items():
        assert command.synopsis and command.help.strip().startswith("Usage:"), name
        if " " in name:
            assert name.rsplit(" ", 1)[0] in COMMANDS


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["kvv", "get"]])
def test_unknown_or_missing_command(cli: Runner, argv: list[str]) -> None:
    result = cli(*argv)
    assert (result.code, result.out) == (1, "")
    assert result.err == usage() + "\n"


@pytest.mark.parametrize("flag", ["-h", "-help", "--help"])
def test_top_level_help(cli: Runner, flag: str) -> None:
    result = cli(flag)
    assert (result.code, result.out, result.err) == (0, usage() + "\n", "")


def test_group_without_subcommand(cli: Runner) -> None:
    result = cli("kv")
    assert result.code == 1
    assert "Subcommands:\n    delete    Removes data from the KV store\n" in result.err
    assert result.err.rstrip().endswith("put       Sets or updates data in the KV store")


def test_group_with_unknown_subcommand(cli: Runner) -> None:
    result = cli("catalog", "bogus")
    assert result.code == 1
    assert "    datacenters    Lists all known datacenters" in result.err


@pytest.mark.parametrize("argv", [["kv", "get", "-h"], ["kv", "put", "key", "--help"], ["members", "-help"]])
def test_command_help_anywhere(cli: Runner, argv: list[str]) -> None:
    result = cli(*argv)
    assert result.code == 0
    assert result.out.startswith(f"Usage: proconsul {' '.join(a for a in argv[:2] if not a.startswith('-'))}")
    assert "HTTP API Options" in result.out


def test_help_after_double_dash_is_an_argument(cli: Runner) -> None:
    result = cli("kv", "get", "-http-addr=127.0.0.1:1", "--", "-h")
    assert result.code == 1
    assert result.err.startswith("Error querying Consul agent:")


def test_undefined_flag(cli: Runner) -> None:
    result = cli("members", "-bogus")
    assert result.code == 1
    assert result.err.startswith("flag provided but not defined: -bogus\n\nUsage: proconsul members")


def test_agent_reports_config_errors(cli: Runner) -> None:
    result = cli("agent", "-server")
    assert (result.code, result.err) == (1, "data_dir cannot be empty\n")


def test_agent_help_lists_its_flags(cli: Runner) -> None:
    result = cli("agent", "-h")
    assert result.code == 0
    assert "  -bootstrap-expect=<value>" in result.out
    assert "HTTP API Options" not in result.out


def test_leave_rejects_arguments(cli: Runner) -> None:
    result = cli("leave", "now")
    assert (result.code, result.err) == (1, "Error found unexpected args: [now]\n")
    assert result.out.startswith("Usage: proconsul leave")
