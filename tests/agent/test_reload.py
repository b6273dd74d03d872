"""Reload re-reads the config files: services defined there come and go without a restart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from tests.conftest import AgentProcess

pytestmark = pytest.mark.integration


async def test_reload_applies_service_definitions(
    tmp_path: Path, agent_process: Callable[..., AgentProcess]
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "a.json").write_text(json.dumps({"service": {"name": "alpha", "port": 1}}))
    agent = agent_process("-dev", f"-config-dir={conf}")
    async with aiohttp.ClientSession(agent.url) as http:
        resp = await http.get("/v1/catalog/service/beta")
        index = resp.headers["X-Consul-Index"]
        assert await resp.json() == []
        assert "alpha" in await (await http.get("/v1/agent/services")).json()

        (conf / "a.json").unlink()
        (conf / "b.hcl").write_text('service {\n  name = "beta"\n  port = 2\n}\n')
        assert (await http.put("/v1/agent/reload")).status == 200

        resp = await http.get(f"/v1/catalog/service/beta?index={index}&wait=30s")
        assert [e["ServicePort"] for e in await resp.json()] == [2]
        assert set(await (await http.get("/v1/agent/services")).json()) == {"beta"}


async def test_a_broken_config_file_keeps_the_running_configuration(
    tmp_path: Path, agent_process: Callable[..., AgentProcess]
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "a.json").write_text(json.dumps({"service": {"name": "alpha"}}))
    agent = agent_process("-dev", f"-config-dir={conf}")
    (conf / "a.json").write_text("{not json")
    async with aiohttp.ClientSession(agent.url) as http:
        async with http.get("/v1/agent/monitor?loglevel=error") as monitor:
            assert (await http.put("/v1/agent/reload")).status == 200
            line = await monitor.content.readline()
        assert b"reload failed" in line
        assert "alpha" in await (await http.get("/v1/agent/services")).json()
