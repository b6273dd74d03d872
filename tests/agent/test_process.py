"""Real agent processes: persistence across restarts, kill -9 during writes, leave, command lines."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

if TYPE_CHECKING:
    from conftest import AgentProcess

pytestmark = pytest.mark.integration
Start = Callable[..., "AgentProcess"]


async def call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(method, url, **kwargs) as resp:
        body = await resp.read()
        is_json = resp.content_type == "application/json"
        return resp.status, (await resp.json() if is_json and body else body)


async def test_local_services_checks_and_kv_survive_a_restart(agent_process: Start, tmp_path: Path) -> None:
    first = agent_process("-server", "-bootstrap", data_dir=tmp_path / "d")
    async with aiohttp.ClientSession() as s:
        service = {
            "ID": "web-1",
            "Name": "web",
            "Port": 8080,
            "Tags": ["v1"],
            "Meta": {"team": "a"},
            "Check": {"TTL": "1h"},
        }
        assert (await call(s, "PUT", f"{first.url}/v1/agent/service/register", json=service))[0] == 200
        check = {"ID": "disk", "Name": "Disk", "TTL": "1h", "Status": "warning"}
        assert (await call(s, "PUT", f"{first.url}/v1/agent/check/register", json=check))[0] == 200
        assert (await call(s, "PUT", f"{first.url}/v1/agent/check/pass/service:web-1?note=fine"))[0] == 200
        assert (await call(s, "PUT", f"{first.url}/v1/agent/service/maintenance/web-1?enable=true&reason=r"))[
            0
        ] == 200
        assert (await call(s, "PUT", f"{first.url}/v1/kv/config/db", data=b"postgres://x"))[1] is True
        _, before = await call(s, "GET", f"{first.url}/v1/kv/config/db")
    assert first.stop() == 0

    second = agent_process("-server", "-bootstrap", data_dir=tmp_path / "d")
    async with aiohttp.ClientSession() as s:
        _, services = await call(s, "GET", f"{second.url}/v1/agent/services")
        assert list(services) == ["web-1"]
        web = services["web-1"]
        assert (web["Service"], web["Port"], web["Tags"], web["Meta"]) == ("web", 8080, ["v1"], {"team": "a"})
        _, checks = await call(s, "GET", f"{second.url}/v1/agent/checks")
        assert set(checks) == {"service:web-1", "disk", "_service_maintenance:web-1"}
        assert (checks["service:web-1"]["Status"], checks["service:web-1"]["Output"]) == ("passing", "fine")
        assert checks["disk"]["Status"] == "warning"
        assert checks["_service_maintenance:web-1"]["Notes"] == "r"
        _, catalog = await call(s, "GET", f"{second.url}/v1/catalog/service/web")
        assert [(e["Node"], e["ServiceID"]) for e in catalog] == [("proc1", "web-1")]
        _, after = await call(s, "GET", f"{second.url}/v1/kv/config/db")
        assert after == before
        assert base64.b64decode(after[0]["Value"]) == b"postgres://x"


async def test_deregistered_services_stay_gone_after_a_restart(agent_process: Start, tmp_path: Path) -> None:
    first = agent_process("-server", "-bootstrap", data_dir=tmp_path / "d")
    async with aiohttp.ClientSession() as s:
        for name in ("keep", "drop"):
            body = {"Name": name, "Check": {"TTL": "1h"}}
            assert (await call(s, "PUT", f"{first.url}/v1/agent/service/register", json=body))[0] == 200
        assert (await call(s, "PUT", f"{first.url}/v1/agent/service/deregister/drop"))[0] == 200
    first.kill()  # no graceful shutdown: what was acknowledged must already be on disk
    second = agent_process("-server", "-bootstrap", data_dir=tmp_path / "d")
    async with aiohttp.ClientSession() as s:
        assert list((await call(s, "GET", f"{second.url}/v1/agent/services"))[1]) == ["keep"]
        assert list((await call(s, "GET", f"{second.url}/v1/agent/checks"))[1]) == ["service:keep"]
        _, catalog = await call(s, "GET", f"{second.url}/v1/catalog/services")
        assert "drop" not in catalog and "keep" in catalog


async def test_acknowledged_kv_writes_survive_kill_9(agent_process: Start, tmp_path: Path) -> None:
    agent = agent_process("-server", "-bootstrap", data_dir=tmp_path / "d")  # durable: not -dev
    acked: dict[str, tuple[bytes, int | None]] = {}
    failures: list[BaseException] = []
    enough = asyncio.Event()

    async def writer(session: aiohttp.ClientSession, worker: int) -> None:
        for i in range(100_000):
            key, value = f"crash/{worker}/{i:06d}", f"{worker}:{i}:{'x' * (i % 50)}".encode()
            try:
                status, body = await call(session, "PUT", f"{agent.url}/v1/kv/{key}", data=value)
                assert (status, body) == (200, True)
                acked[key] = (value, None)
                if len(acked) >= 300:
                    enough.set()
                _, entry = await call(session, "GET", f"{agent.url}/v1/kv/{key}")
                acked[key] = (value, entry[0]["ModifyIndex"])
            except (TimeoutError, aiohttp.ClientError) as exc:
                failures.append(exc)
                return

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        writers = [asyncio.create_task(writer(session, w)) for w in range(8)]
        await asyncio.wait_for(enough.wait(), timeout=60)
        agent.kill()  # SIGKILL while the eight writers have requests in flight
        await asyncio.wait_for(asyncio.gather(*writers), timeout=30)
    assert len(failures) == 8  # every writer was cut off mid-stream
    assert len(acked) >= 300

    restarted = agent_process("-server", "-bootstrap", data_dir=tmp_path / "d")
    async with aiohttp.ClientSession() as session:
        status, listing = await call(session, "GET", f"{restarted.url}/v1/kv/crash/?recurse")
    assert status == 200
    stored = {e["Key"]: (base64.b64decode(e["Value"]), e["ModifyIndex"]) for e in listing}
    missing = [k for k in acked if k not in stored]
    assert missing == []
    for key, (value, index) in acked.items():
        assert stored[key][0] == value, key
        if index is not None:
            assert stored[key][1] == index, key
    assert sum(index is not None for _, index in acked.values()) >= 290


async def test_leave_makes_the_process_exit_cleanly(agent_process: Start) -> None:
    agent = agent_process("-server", "-bootstrap")
    async with aiohttp.ClientSession() as s:
        status, body = await call(s, "PUT", f"{agent.url}/v1/agent/leave")
    assert (status, body) == (200, b"")
    assert agent.proc is not None
    assert await asyncio.to_thread(agent.proc.wait, 20) == 0


COMMAND_LINES = [
    pytest.param(
        [
            "-server",
            "-bootstrap",
            "-ui",
            "-data-dir={data}",
            "-bind=127.0.0.1",
            "-client=127.0.0.1",
            "-node=consul-server01",
        ],
        "consul-server01",
        "dc1",
        id="bootstrap-ui",
    ),
    pytest.param(
        [
            "-server",
            "-ui",
            "-data-dir={data}",
            "-bind=127.0.0.1",
            "-client=127.0.0.1",
            "-node=consul-server02",
            "-enable-script-checks=true",
            "-datacenter=dc1",
        ],
        "consul-server02",
        "dc1",
        id="script-checks-datacenter",
    ),
    pytest.param(
        [
            "-ui",
            "-data-dir",
            "{data}",
            "-server",
            "-bootstrap-expect",
            "1",
            "-client",
            "127.0.0.1",
            "-node",
            "consul-server03",
            "-datacenter",
            "east",
        ],
        "consul-server03",
        "east",
        id="flag-space-value",
    ),
]


@pytest.mark.parametrize(("args", "node", "datacenter"), COMMAND_LINES)
async def test_documented_command_lines_start_a_server(
    agent_process: Start, tmp_path: Path, args: list[str], node: str, datacenter: str
) -> None:
    data = tmp_path / "consul-data"
    agent = agent_process(*(a.format(data=data) for a in args))
    async with aiohttp.ClientSession() as s:
        status, leader = await call(s, "GET", f"{agent.url}/v1/status/leader")
        assert status == 200 and leader.startswith("127.0.0.1:")
        _, nodes = await call(s, "GET", f"{agent.url}/v1/catalog/nodes")
        assert [(n["Node"], n["Datacenter"], n["Address"]) for n in nodes] == [
            (node, datacenter, "127.0.0.1")
        ]
        _, self_ = await call(s, "GET", f"{agent.url}/v1/agent/self")
        assert (self_["Config"]["NodeName"], self_["Config"]["Datacenter"]) == (node, datacenter)
        async with s.get(f"{agent.url}/", allow_redirects=False) as resp:
            assert (resp.status, resp.headers["Location"]) == (301, "/ui/")
    assert (data / "node-id").exists()  # the data dir given on the command line is the one used
    assert agent.stop() == 0
