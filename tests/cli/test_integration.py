"""The CLI against a real `proconsul agent -dev` process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import AgentProcess

from .conftest import Result, run_cli

pytestmark = pytest.mark.integration
ENTRY = [sys.executable, "-c", "from proconsul.cli.main import run; run()"]


@dataclass
class Agent:
    http_addr: str

    def cli(self, *argv: str, stdin: bytes = b"") -> Result:
        return run_cli(*argv, stdin=stdin, environ={"CONSUL_HTTP_ADDR": self.http_addr})


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    proc = AgentProcess(["-dev", "-node=itest"], tmp_path_factory.mktemp("agent")).start()
    yield Agent(proc.http_addr)
    proc.stop()


def test_members(agent: Agent) -> None:
    result = agent.cli("members")
    assert result.code == 0, result.err
    header, row = result.out.splitlines()
    assert header.split() == [
        "Node",
        "Address",
        "Status",
        "Type",
        "Build",
        "Protocol",
        "DC",
        "Partition",
        "Segment",
    ]
    assert row.split()[:4] == ["itest", "127.0.0.1:8301", "alive", "server"]
    assert agent.cli("members", "-status=failed").code == 2


def test_info_reports_leader(agent: Agent) -> None:
    result = agent.cli("info")
    assert result.code == 0, result.err
    assert re.search(r"^consul:$", result.out, re.M)
    assert re.search(r"^\tleader = true$", result.out, re.M)


def test_operator_raft_list_peers(agent: Agent) -> None:
    result = agent.cli("operator", "raft", "list-peers")
    assert result.code == 0, result.err
    header, row = result.out.splitlines()
    assert re.split(r"\s{2,}", header) == [
        "Node", "ID", "Address", "State", "Voter", "RaftProtocol", "Commit Index", "Trails Leader By"
    ]  # fmt: skip
    fields = row.split()
    assert fields[0] == "itest" and fields[2:6] == ["127.0.0.1:8300", "leader", "true", "3"]
    assert fields[-1] == "-"


def test_kv_put_get_delete(agent: Agent, tmp_path: Path) -> None:
    assert agent.cli("kv", "put", "it/foo", "bar").out == "Success! Data written to: it/foo\n"
    assert agent.cli("kv", "put", "it/stdin", "-", stdin=b"piped\n").code == 0
    (tmp_path / "license").write_bytes(b"\x00file")
    assert agent.cli("kv", "put", "it/file", f"@{tmp_path / 'license'}").code == 0
    assert agent.cli("kv", "put", "-flags=42", "it/empty").code == 0
    assert agent.cli("kv", "get", "it/foo").out == "bar\n"
    assert agent.cli("kv", "get", "/it/stdin").out == "piped\n\n"
    assert agent.cli("kv", "get", "-recurse", "-base64", "it/file").out == "it/file:AGZpbGU=\n"
    detailed = agent.cli("kv", "get", "-detailed", "it/empty").out
    assert "Flags            42\nKey              it/empty\n" in detailed
    assert agent.cli("kv", "get", "-recurse", "it/f").out == "it/file:\x00file\nit/foo:bar\n"
    blocks = agent.cli("kv", "get", "-recurse", "-detailed", "it/f").out.split("\n\n")
    assert [b.splitlines()[2] for b in blocks] == ["Key              it/file", "Key              it/foo"]
    assert agent.cli("kv", "put", "it/sub/deeper", "x").code == 0
    assert agent.cli("kv", "get", "-keys", "it/").out.splitlines() == [
        "it/empty", "it/file", "it/foo", "it/stdin", "it/sub/",
    ]  # fmt: skip
    missing = agent.cli("kv", "get", "it/nope")
    assert (missing.code, missing.err) == (1, "Error! No key exists at: it/nope\n")
    assert agent.cli("kv", "delete", "it/foo").out == "Success! Deleted key: it/foo\n"
    assert agent.cli("kv", "get", "it/foo").code == 1
    assert agent.cli("kv", "delete", "-recurse", "it/").out == "Success! Deleted keys with prefix: it/\n"
    assert agent.cli("kv", "get", "-recurse", "it/").out == ""


def _modify_index(agent: Agent, key: str) -> int:
    detailed = agent.cli("kv", "get", "-detailed", key).out
    match = re.search(r"^ModifyIndex\s+(\d+)$", detailed, re.M)
    assert match, detailed
    return int(match.group(1))


def test_kv_check_and_set(agent: Agent) -> None:
    agent.cli("kv", "put", "cas/key", "one")
    index = _modify_index(agent, "cas/key")
    stale = agent.cli("kv", "put", "-cas", f"-modify-index={index + 1000}", "cas/key", "two")
    assert (stale.code, stale.err) == (1, "Error! Did not write to cas/key: CAS failed\n")
    assert agent.cli("kv", "put", "-cas", f"-modify-index={index}", "cas/key", "two").code == 0
    assert agent.cli("kv", "get", "cas/key").out == "two\n"
    refused = agent.cli("kv", "delete", "-cas", f"-modify-index={index}", "cas/key")
    assert (refused.code, refused.err) == (1, "Error! Did not delete key cas/key: CAS failed\n")
    current = _modify_index(agent, "cas/key")
    assert agent.cli("kv", "delete", "-cas", f"-modify-index={current}", "cas/key").code == 0


def test_kv_export_then_import(agent: Agent, tmp_path: Path) -> None:
    agent.cli("kv", "put", "exp/a", "1")
    agent.cli("kv", "put", "-flags=7", "exp/b", "two")
    exported = agent.cli("kv", "export", "exp/").out
    assert json.loads(exported) == [
        {"key": "exp/a", "flags": 0, "value": "MQ=="},
        {"key": "exp/b", "flags": 7, "value": "dHdv"},
    ]
    agent.cli("kv", "delete", "-recurse", "exp/")
    imported = agent.cli("kv", "import", "-", stdin=exported.encode())
    assert imported.out == "Imported: exp/a\nImported: exp/b\n"
    (tmp_path / "dump.json").write_text(exported)
    assert agent.cli("kv", "import", "-prefix=copy/", f"@{tmp_path / 'dump.json'}").code == 0
    assert agent.cli("kv", "get", "-recurse", "copy/").out == "copy/exp/a:1\ncopy/exp/b:two\n"
    assert "Flags            7" in agent.cli("kv", "get", "-detailed", "exp/b").out


def test_catalog_and_services(agent: Agent, tmp_path: Path) -> None:
    assert agent.cli("catalog", "datacenters").out == "dc1\n"
    nodes = agent.cli("catalog", "nodes").out.splitlines()
    assert nodes[0].split() == ["Node", "ID", "Address", "DC"]
    assert nodes[1].split()[0] == "itest"
    registered = agent.cli(
        "services", "register", "-name=web", "-port=80", "-tag=v1", "-tag=edge", "-meta=team=a"
    )
    assert (registered.code, registered.out) == (0, "Registered service: web\n"), registered.err
    (tmp_path / "db.hcl").write_text('service {\n  name = "db"\n  port = 5432\n  tags = ["primary"]\n}\n')
    assert agent.cli("services", "register", str(tmp_path / "db.hcl")).out == "Registered service: db\n"
    listing = agent.cli("catalog", "services", "-tags").out.splitlines()
    assert [line.split() for line in listing if line.split()[0] in ("db", "web")] == [
        ["db", "primary"], ["web", "edge,v1"],
    ]  # fmt: skip
    assert agent.cli("catalog", "nodes", "-service=web").out.splitlines()[1].split()[0] == "itest"
    assert "web" in agent.cli("catalog", "services", "-node=itest").out.split()
    assert agent.cli("services", "deregister", "-id=web").out == "Deregistered service: web\n"
    assert agent.cli("services", "deregister", str(tmp_path / "db.hcl")).out == "Deregistered service: db\n"
    remaining = agent.cli("catalog", "services").out.split()
    assert "web" not in remaining and "db" not in remaining
    none = agent.cli("catalog", "nodes", "-service=web")
    assert (none.code, none.err) == (0, "No nodes match the given query - try expanding your search.\n")


def test_reload(agent: Agent) -> None:
    assert agent.cli("reload").out == "Configuration reload triggered\n"


def test_console_script_and_http_addr_flag(agent: Agent) -> None:
    done = subprocess.run(
        [*ENTRY, "members", f"-http-addr={agent.http_addr}"], capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert b"itest" in done.stdout


def test_leave_shuts_the_agent_down(tmp_path: Path) -> None:
    leaving = AgentProcess(["-dev", "-node=leaving"], tmp_path).start()
    try:
        result = Agent(leaving.http_addr).cli("leave")
        assert (result.code, result.out) == (0, "Graceful leave complete\n"), result.err
        assert leaving.stop() == 0
    finally:
        leaving.kill()
