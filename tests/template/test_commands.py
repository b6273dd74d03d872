"""run_command and consul_env, with real processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from proconsul.template.commands import OUTPUT_LIMIT, CommandResult, command_argv, consul_env, run_command

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def gone(pid: int) -> bool:
    """The process no longer runs (it may linger as a zombie until its new parent reaps it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, within: float = 5.0) -> bool:
    # SIGKILL'd orphans are not our children: there is nothing to await, so poll briefly.
    deadline = time.monotonic() + within
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


async def test_success_and_exit_codes() -> None:
    ok = await run_command("true", timeout=10, env=ENV)
    assert ok == CommandResult(0, "", False)
    assert ok.ok

    failed = await run_command("echo broken; exit 3", timeout=10, env=ENV)
    assert failed.exit_code == 3
    assert failed.output == "broken"
    assert not failed.ok and not failed.timed_out
    assert failed.describe() == "exited with status 3: broken"


async def test_exec_form_runs_without_a_shell() -> None:
    result = await run_command(["printf", "%s|", "a b", "$HOME;"], timeout=10, env=ENV)
    assert result.ok
    assert result.output == "a b|$HOME;|"


async def test_command_not_found() -> None:
    via_shell = await run_command("no-such-command-proconsul && true", timeout=10, env=ENV)
    assert via_shell.exit_code == 127
    assert "not found" in via_shell.output

    simple = await run_command("no-such-command-proconsul --flag", timeout=10, env=ENV)
    assert simple.exit_code == 127
    assert "no-such-command-proconsul" in simple.output


async def test_a_simple_command_runs_without_a_shell_and_gets_signals_itself() -> None:
    assert command_argv("nginx -s reload") == ["nginx", "-s", "reload"]
    assert command_argv("sh '/path with space/x.sh'") == ["sh", "/path with space/x.sh"]
    assert command_argv("nginx -t && nginx -s reload") == ["sh", "-c", "nginx -t && nginx -s reload"]
    assert command_argv("FOO=1 run") == ["sh", "-c", "FOO=1 run"]
    assert command_argv("echo $HOME") == ["sh", "-c", "echo $HOME"]

    direct = await run_command(["/nonexistent/proconsul-cmd", "x"], timeout=10, env=ENV)
    assert direct.exit_code == 127
    assert not direct.timed_out
    assert "/nonexistent/proconsul-cmd" in direct.output
    assert "No such file" in direct.output


async def test_empty_command_is_rejected() -> None:
    with pytest.raises(ValueError):
        await run_command("  ", timeout=1, env=ENV)
    with pytest.raises(ValueError):
        await run_command([], timeout=1, env=ENV)


async def test_stdout_and_stderr_are_combined() -> None:
    result = await run_command("echo out; echo err >&2; echo out2", timeout=10, env=ENV)
    assert result.output.splitlines() == ["out", "err", "out2"]


async def test_output_keeps_the_tail() -> None:
    result = await run_command(
        "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done; echo LAST", timeout=10, env=ENV
    )
    assert result.ok
    assert len(result.output.encode()) <= OUTPUT_LIMIT
    assert result.output.endswith("line1999\nLAST")
    assert "line0\n" not in result.output


async def test_environment_is_passed() -> None:
    result = await run_command('echo "$FOO/$BAR"', timeout=10, env={**ENV, "FOO": "foo", "BAR": "b a r"})
    assert result.output == "foo/b a r"
    unset = await run_command(["sh", "-c", 'echo "[${HOME-unset}]"'], timeout=10, env=ENV)
    assert unset.output == "[unset]"


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    started = time.monotonic()
    result = await run_command(
        f"sleep 30 & echo $! > {pids}; echo $$ >> {pids}; echo started; sleep 30", timeout=0.5, env=ENV
    )
    assert time.monotonic() - started < 10
    assert result.timed_out
    assert result.exit_code is None
    assert not result.ok
    assert result.output == "started"
    assert result.describe() == "did not exit within the time limit: started"
    background, shell = (int(line) for line in pids.read_text().split())
    assert gone(shell)  # our own child: already reaped
    assert wait_gone(background)


async def test_background_process_holding_the_output_does_not_block(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    started = time.monotonic()
    result = await run_command(f"sleep 30 & echo $! > {pidfile}; echo done", timeout=20, env=ENV)
    try:
        assert result.ok
        assert result.output == "done"
        assert time.monotonic() - started < 5
    finally:
        os.kill(int(pidfile.read_text()), 9)


async def test_killed_by_signal() -> None:
    result = await run_command(["sh", "-c", "kill -TERM $$"], timeout=10, env=ENV)
    assert result.exit_code == -15
    assert result.describe() == "killed by signal 15"


def test_consul_env() -> None:
    base = {"PATH": "/bin", "CONSUL_HTTP_ADDR": "old:8500"}
    assert consul_env(base) == base
    env = consul_env(
        base,
        address="127.0.0.1:8500",
        token="secret",
        token_file="/run/token",
        auth="user:pass",
        ssl=True,
        ssl_verify=False,
    )
    assert env == {
        "PATH": "/bin",
        "CONSUL_HTTP_ADDR": "127.0.0.1:8500",
        "CONSUL_HTTP_TOKEN": "secret",
        "CONSUL_HTTP_TOKEN_FILE": "/run/token",
        "CONSUL_HTTP_AUTH": "user:pass",
        "CONSUL_HTTP_SSL": "true",
        "CONSUL_HTTP_SSL_VERIFY": "false",
    }
    assert base == {"PATH": "/bin", "CONSUL_HTTP_ADDR": "old:8500"}
    partial = consul_env({}, token="t")
    assert partial == {"CONSUL_HTTP_TOKEN": "t"}
