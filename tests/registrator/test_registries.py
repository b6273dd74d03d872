"""The KV-style registries against real servers: consulkv on a proconsul agent, etcd's v3 gateway."""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from tests.conftest import AgentProcess, free_port

from proconsul.client import ConsulClient
from proconsul.registrator.mapping import Service
from proconsul.registrator.registries import open_registry

pytestmark = pytest.mark.integration
SERVICE = Service(
    id="host:web1:80", name="web", ip="10.0.0.1", port=8080, tags=(), meta={}, check=None,
    container_id="c" * 64, container_name="web1", exposed_port=80,
)  # fmt: skip


@pytest.fixture
def etcd() -> Iterator[str]:
    if shutil.which("etcd") is None:
        pytest.skip("etcd is not installed")
    client, peer = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="proconsul-etcd-") as tmp:
        proc = subprocess.Popen(
            ["etcd", f"--data-dir={Path(tmp) / 'data'}", f"--listen-client-urls=http://127.0.0.1:{client}",
             f"--advertise-client-urls=http://127.0.0.1:{client}", f"--listen-peer-urls=http://127.0.0.1:{peer}",
             f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
             f"--initial-cluster=default=http://127.0.0.1:{peer}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stderr is not None
        try:
            for line in proc.stderr:
                if "ready to serve client requests" in line:
                    break
            else:
                pytest.skip("etcd did not start")
            yield f"127.0.0.1:{client}"
        finally:
            proc.kill()
            proc.wait()
            proc.stderr.close()


async def test_etcd_key_with_ttl_lease(etcd: str) -> None:
    registry = open_registry(f"etcd://{etcd}/services", {}, ttl=30)
    try:
        await registry.ping()
        await registry.register(SERVICE)
        assert await _etcd_get(etcd, "/services/web/host:web1:80") == ("10.0.0.1:8080", True)
        await registry.deregister(SERVICE.id, SERVICE)
        assert await _etcd_get(etcd, "/services/web/host:web1:80") is None
    finally:
        await registry.close()


async def _etcd_get(etcd: str, key: str) -> tuple[str, bool] | None:
    """(value, leased) of `key` through etcd's v3 JSON gateway; None when missing."""
    body = {"key": base64.b64encode(key.encode()).decode()}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://{etcd}/v3/kv/range", json=body) as answer,
    ):
        kvs = (await answer.json()).get("kvs") or []
    if not kvs:
        return None
    return base64.b64decode(kvs[0]["value"]).decode(), int(kvs[0].get("lease") or 0) != 0


async def test_consulkv_writes_ip_port(tmp_path: Path) -> None:
    agent = AgentProcess(["-dev"], tmp_path / "agent").start()
    try:
        registry = open_registry(f"consulkv://{agent.http_addr}/services", {})
        await registry.ping()
        await registry.register(SERVICE)
        async with ConsulClient(agent.http_addr) as client:
            entry = await client.kv_get("services/web/host:web1:80")
            assert entry is not None
            await registry.deregister(SERVICE.id, SERVICE)
            assert await client.kv_get("services/web/host:web1:80") is None
        await registry.close()
    finally:
        agent.kill()
