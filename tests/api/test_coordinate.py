"""/v1/coordinate: stored per node, readable and blockable, gone with the node."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import ClientSession

from proconsul.state.view import COORDINATES

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession
COORD = {"Adjustment": 0.1, "Error": 0.5, "Height": 0.001, "Vec": [0.5, 0, 0, 0, 0, 0, 0, -0.25]}


async def test_datacenters_lists_this_server_in_the_wan_area(api: Client) -> None:
    (dc,) = await (await api.get("/v1/coordinate/datacenters")).json()
    assert set(dc) == {"Datacenter", "Coordinates", "AreaID"}
    assert dc["Datacenter"] == "dc1"
    assert dc["Coordinates"][0]["Node"].endswith(".dc1")


async def test_update_then_read(api: Client, notifier_spy: NotifierSpy) -> None:
    node = (await (await api.get("/v1/agent/self")).json())["Config"]["NodeName"]
    missing = await api.get(f"/v1/coordinate/node/{node}")
    assert missing.status == 404 and "X-Consul-Index" in missing.headers
    index = missing.headers["X-Consul-Index"]
    waiter = asyncio.create_task(api.get(f"/v1/coordinate/nodes?index={index}&wait=5s"))
    deps, _ = await notifier_spy.parked()  # blocked before the update is sent
    assert COORDINATES in deps.topics
    assert (await api.put("/v1/coordinate/update", json={"Node": node, "Coord": COORD})).status == 200
    (listed,) = await (await waiter).json()
    assert listed == {"Node": node, "Segment": "", "Coord": COORD}
    assert await (await api.get(f"/v1/coordinate/node/{node}")).json() == [listed]


async def test_unknown_nodes_are_dropped_and_deregistration_removes_the_coordinate(api: Client) -> None:
    await api.put("/v1/coordinate/update", json={"Node": "ghost", "Coord": COORD})
    assert await (await api.get("/v1/coordinate/nodes")).json() == []
    await api.put("/v1/catalog/register", json={"Node": "n2", "Address": "10.0.0.2"})
    await api.put("/v1/coordinate/update", json={"Node": "n2", "Coord": COORD})
    assert [c["Node"] for c in await (await api.get("/v1/coordinate/nodes")).json()] == ["n2"]
    await api.put("/v1/catalog/deregister", json={"Node": "n2"})
    assert await (await api.get("/v1/coordinate/nodes")).json() == []


async def test_bad_update_bodies_are_400(api: Client) -> None:
    resp = await api.put("/v1/coordinate/update", data=b"{nope")
    assert resp.status == 400
    resp = await api.put("/v1/coordinate/update", json={"Node": "x", "Coord": {"Vec": "no"}})
    assert resp.status == 400
