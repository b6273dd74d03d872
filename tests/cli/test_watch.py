"""`proconsul watch`: parameters per watch type, pacing, output encoding, and handlers run against a
real agent (the handler's own output is the event the test waits on)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import AgentProcess

from proconsul.cli.watch import TokenBucket, encode_go_json, watch_query
from proconsul.errors import ConfigError

from .conftest import Result, Runner, run_cli


# ---- parameters ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "path", "query"),
    [
        ({"type": "key", "key": "/a/b"}, "/v1/kv/a/b", {"stale": False}),
        (
            {"type": "keyprefix", "prefix": "app/", "stale": True},
            "/v1/kv/app/",
            {"recurse": True, "stale": True},
        ),
        ({"type": "services", "datacenter": "dc1", "token": "t"}, "/v1/catalog/services", {"stale": False}),
        ({"type": "nodes"}, "/v1/catalog/nodes", {"stale": False}),
        (
            {"type": "service", "service": "web", "tag": "v1", "passingonly": True},
            "/v1/health/service/web",
            {"stale": False, "tag": ["v1"], "passing": True},
        ),
        ({"type": "checks", "service": "web"}, "/v1/health/checks/web", {"stale": False}),
        ({"type": "checks", "state": "critical"}, "/v1/health/state/critical", {"stale": False}),
        ({"type": "checks"}, "/v1/health/state/any", {"stale": False}),
        ({"type": "event", "name": "deploy"}, "/v1/event/list", {"name": "deploy"}),
        ({"type": "event"}, "/v1/event/list", {"name": None}),
    ],
)
def test_queries(params: dict[str, Any], path: str, query: dict[str, Any]) -> None:
    built = watch_query(params)
    assert (built.path, built.params) == (path, query)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"type": "bogus"}, "Unsupported watch type: bogus"),
        ({"type": "key"}, "Must specify a single key to watch"),
        ({"type": "keyprefix"}, "Must specify a single prefix to watch"),
        ({"type": "service"}, "Must specify a single service to watch"),
        ({"type": "checks", "service": "a", "state": "any"}, "Cannot specify service and state"),
        ({"type": "key", "key": "k", "prefix": "p", "name": "n"}, "Invalid parameters: [name prefix]"),
        ({"type": "event", "stale": True}, "Invalid parameters: [stale]"),
        ({"type": "nodes", "passingonly": True}, "Invalid parameters: [passingonly]"),
    ],
)
def test_parameter_errors(params: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as exc:
        watch_query(params)
    assert str(exc.value) == error


def test_shapes_follow_the_go_client() -> None:
    entry = {"LockIndex": 0, "Key": "k", "Flags": 1, "Value": "dg==", "CreateIndex": 2, "ModifyIndex": 3}
    pair = {
        "Key": "k",
        "CreateIndex": 2,
        "ModifyIndex": 3,
        "LockIndex": 0,
        "Flags": 1,
        "Value": "dg==",
        "Session": "",
    }
    assert watch_query({"type": "key", "key": "k"}).shape([entry]) == pair
    assert watch_query({"type": "key", "key": "k"}).shape(None) is None
    assert watch_query({"type": "keyprefix", "prefix": "k"}).shape([entry]) == [pair]
    assert watch_query({"type": "keyprefix", "prefix": "k"}).shape(None) is None


def test_token_bucket_allows_a_burst_of_two_then_one_per_period() -> None:
    now = [0.0]
    bucket = TokenBucket(burst=2, period=15.0, clock=lambda: now[0])
    assert [bucket.delay(), bucket.delay()] == [0.0, 0.0]
    assert bucket.delay() == pytest.approx(15.0)
    now[0] = 15.0
    assert bucket.delay() == pytest.approx(15.0)
    now[0] = 100.0
    assert [bucket.delay(), bucket.delay(), bucket.delay()] == [0.0, 0.0, pytest.approx(15.0)]


def test_output_is_encoded_as_go_does() -> None:
    assert (
        encode_go_json({"a": "<b>&", "n": None, "e": []}) == '{"a":"\\u003cb\\u003e\\u0026","n":null,"e":[]}'
    )
    assert encode_go_json({"x": [1]}, indent=4) == '{\n    "x": [\n        1\n    ]\n}'


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        ([], "Watch type must be specified\n\nUsage: proconsul watch"),
        (["-type=bogus"], "Unsupported watch type: bogus\n"),
        (["-type=service", "-service=web", "-passingonly=maybe"], "Failed to parse passingonly flag: "),
    ],
)
def test_argument_errors(cli: Runner, argv: list[str], err: str) -> None:
    result = cli("watch", *argv, environ={"CONSUL_HTTP_ADDR": "127.0.0.1:1"})
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(err)


# ---- against an agent ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    proc = AgentProcess(["-dev", "-node=watcher"], tmp_path_factory.mktemp("agent")).start()
    yield proc
    proc.stop()


def cli(agent: AgentProcess, *argv: str) -> Result:
    return run_cli(*argv, environ={"CONSUL_HTTP_ADDR": agent.http_addr, "PATH": os.environ.get("PATH", "")})


class Watch:
    """A `proconsul watch` process whose handler appends each result to a file, then prints a line."""

    def __init__(self, agent: AgentProcess, out: Path, *argv: str) -> None:
        handler = f'cat >> {out}; echo "handled $CONSUL_INDEX"'
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "proconsul", "watch", *argv, handler],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CONSUL_HTTP_ADDR": agent.http_addr},
        )

    def handled(self) -> int:
        """Wait for the next handler run; its CONSUL_INDEX."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("handled "), (line, self.stop())
        return int(line.split()[1])

    def results(self) -> list[Any]:
        return [json.loads(line) for line in self.out.read_text().splitlines()]

    def stop(self) -> tuple[int, str]:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, err


@pytest.mark.integration
def test_key_watch_runs_the_handler_on_a_write(agent: AgentProcess, tmp_path: Path) -> None:
    watch = Watch(agent, tmp_path / "seen", "-type=key", "-key=w/k")
    try:
        assert watch.handled() >= 1
        assert cli(agent, "kv", "put", "w/k", "hello").code == 0
        index = watch.handled()
    finally:
        code, err = watch.stop()
    assert code == 0, err
    first, second = watch.results()
    assert first is None
    assert (second["Key"], base64.b64decode(second["Value"]), second["ModifyIndex"]) == (
        "w/k",
        b"hello",
        index,
    )


@pytest.mark.integration
def test_event_watch_hands_on_only_new_events(agent: AgentProcess, tmp_path: Path) -> None:
    before = cli(agent, "event", "-name=deploy", "old")
    assert before.code == 0, before.err
    watch = Watch(agent, tmp_path / "events", "-type=event", "-name=deploy")
    try:
        watch.handled()
        cli(agent, "event", "-name=other", "ignored")
        fired = cli(agent, "event", "-name=deploy", "new").out.split()[-1]
        watch.handled()
    finally:
        code, err = watch.stop()
    assert code == 0, err
    initial, fresh = watch.results()
    assert [base64.b64decode(e["Payload"]) for e in initial] == [b"old"]
    assert [(e["ID"], base64.b64decode(e["Payload"])) for e in fresh] == [(fired, b"new")]


@pytest.mark.integration
def test_without_a_handler_the_result_is_printed_once(agent: AgentProcess) -> None:
    assert cli(agent, "kv", "put", "print/me", "v").code == 0
    result = cli(agent, "watch", "-type=key", "-key=print/me")
    assert result.code == 0, result.err
    assert result.out.startswith('{\n    "Key": "print/me",\n    "CreateIndex": ')
    assert json.loads(result.out)["Value"] == "dg=="
    services = cli(agent, "watch", "-type=services")
    assert json.loads(services.out) == {"consul": []}


@pytest.mark.integration
def test_a_failing_handler_ends_the_watch(agent: AgentProcess) -> None:
    result = cli(agent, "watch", "-type=nodes", "echo ran; exit 3")
    assert (result.code, result.out) == (1, "ran\n")
    assert result.err == "Error executing handler: exit status 3\n"
    direct = cli(agent, "watch", "-type=nodes", "-shell=false", "/bin/false")
    assert (direct.code, direct.err) == (1, "Error executing handler: exit status 1\n")
