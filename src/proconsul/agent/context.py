"""Everything a request handler may need from the running agent, in one object."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from proconsul.agent.local import LocalAgent
from proconsul.state.view import StateView
from proconsul.state.writer import Registry
from proconsul.store import Backend

if TYPE_CHECKING:
    from proconsul.agent.checks.scheduler import CheckScheduler
    from proconsul.config import AgentConfig


@dataclass
class AgentContext:
    config: AgentConfig
    backend: Backend
    view: StateView
    registry: Registry
    local: LocalAgent
    node_id: str
    advertise_addr: str
    shutdown: asyncio.Event = field(default_factory=asyncio.Event)
    reload_requested: asyncio.Event = field(default_factory=asyncio.Event)
    # set after each reload attempt, whether it applied or was refused
    reload_finished: asyncio.Event = field(default_factory=asyncio.Event)
    started: float = field(default_factory=time.time)
    checks: CheckScheduler | None = None  # runs the local checks; None only while starting

    @property
    def server_address(self) -> str:
        return f"{self.advertise_addr}:{self.config.ports.server}"
