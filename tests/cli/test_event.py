"""`proconsul event`: argument checks, and firing against a real agent."""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections.abc import Iterator

import pytest
from tests.conftest import AgentProcess

from proconsul.cli.common import help_text
from proconsul.cli.event import COMMANDS

from .conftest import Result, Runner, run_cli

UNREACHABLE = {"CONSUL_HTTP_ADDR": "127.0.0.1:1"}
HELP = help_text(COMMANDS[0])


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        ([], f"Event name must be specified\n\n{HELP}\n"),
        (["-name=x", "a", "b"], f"Too many command line arguments.\n\n{HELP}\n"),
        (["-name=x", "-tag=t"], "Cannot provide tag filter without service filter.\n"),
        (["-name=x", "-node=("], "Failed to compile node filter regexp: error parsing regexp: "),
        (
            ["-name=x", "-service=[", "-tag=t"],
            "Failed to compile service filter regexp: error parsing regexp: ",
        ),
    ],
)
def test_argument_errors(cli: Runner, argv: list[str], err: str) -> None:
    result = cli("event", *argv, environ=UNREACHABLE)
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith(err)


def test_an_unreachable_agent(cli: Runner) -> None:
    result = cli("event", "-name=x", environ=UNREACHABLE)
    assert result.code == 1
    assert result.err.startswith("Error querying Consul agent: ")


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    proc = AgentProcess(["-dev", "-node=evt"], tmp_path_factory.mktemp("agent")).start()
    yield proc
    proc.stop()


def fire(agent: AgentProcess, *argv: str) -> Result:
    return run_cli("event", *argv, environ={"CONSUL_HTTP_ADDR": agent.http_addr})


@pytest.mark.integration
def test_fire_prints_the_event_id(agent: AgentProcess) -> None:
    result = fire(agent, "-name=deploy", "-node=^evt$", "v1.2")
    assert result.code == 0, result.err
    match = re.fullmatch(r"Event ID: ([0-9a-f-]{36})\n", result.out)
    assert match, result.out
    with urllib.request.urlopen(f"{agent.url}/v1/event/list?name=deploy") as resp:
        (event,) = json.load(resp)
    assert (event["ID"], event["NodeFilter"]) == (match.group(1), "^evt$")
    assert base64.b64decode(event["Payload"]) == b"v1.2"


@pytest.mark.integration
def test_a_refused_event(agent: AgentProcess) -> None:
    result = fire(agent, "-name=big", "x" * 1000)
    assert result.code == 1
    assert result.err == (
        "Error firing event: Unexpected response code: 500 "
        "(user event exceeds configured limit of 512 bytes before encoding)\n"
    )
