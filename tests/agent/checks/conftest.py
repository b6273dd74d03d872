"""Fixtures for the check runners: probe contexts, a fast in-process agent, certificates, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import dev_config
from tests.tls_material import Certificate, make_certificate

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.http import new_session
from proconsul.agent.context import AgentContext
from proconsul.agent.runner import running_agent
from proconsul.state.view import Record, node_topic
from proconsul.state.watch import Deps, Versioned, blocking_query
from proconsul.store.sqlite import open_sqlite

WAIT = 10.0  # how long a test waits for a state change before it fails
AgentFactory = Callable[..., contextlib.AbstractAsyncContextManager[AgentContext]]


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_session() as session:
        yield session


@pytest.fixture
def probe_ctx(http_session: aiohttp.ClientSession) -> Callable[..., ProbeContext]:
    def make(**overrides: Any) -> ProbeContext:
        base: dict[str, Any] = dict(
            timeout=2.0,
            output_max_size=4096,
            enable_script_checks=True,
            docker_socket="/var/run/docker.sock",
            http=http_session,
        )
        return ProbeContext(**{**base, **overrides})

    return make


@pytest.fixture
def make_agent(tmp_path: Path) -> AgentFactory:
    """An in-process agent whose checks may run as often as every 50 ms."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[AgentContext]:
        backend = await open_sqlite(None, durable=False)
        async with running_agent(dev_config(tmp_path / "agent", **overrides), backend) as ctx:
            assert ctx.checks is not None
            ctx.checks.settings = dataclasses.replace(ctx.checks.settings, min_interval=0.05)
            yield ctx

    return start


async def wait_for_check(ctx: AgentContext, cid: str, predicate: Callable[[Record], bool]) -> Record:
    """Block (a blocking query on the node) until the catalog's record of `cid` satisfies `predicate`."""
    node = ctx.config.node_name
    deps = Deps(topics=(node_topic(node),))

    def run() -> Versioned[Record | None]:
        return Versioned(ctx.view.index_of(*deps.topics), ctx.view.checks.get(node, {}).get(cid))

    index = 0
    async with asyncio.timeout(WAIT):
        while True:
            result = await blocking_query(ctx.view.notifier, deps, index, WAIT, run)
            if result.value is not None and predicate(result.value):
                return result.value
            index = result.index


def status_is(status: str) -> Callable[[Record], bool]:
    return lambda rec: rec.data["Status"] == status


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))
