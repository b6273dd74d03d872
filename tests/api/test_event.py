"""/v1/event: firing, delivery filters, the list of the last 256, its index and blocking."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession

from proconsul.state.events import index_of

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
EVENT_FIELDS = ["ID", "Name", "Payload", "NodeFilter", "ServiceFilter", "TagFilter", "Version", "LTime"]


async def fire(api: Client, name: str, payload: bytes = b"", **params: str) -> dict[str, Any]:
    resp = await api.put(f"/v1/event/fire/{name}", data=payload, params=params)
    assert resp.status == 200, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


async def listing(api: Client, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    resp = await api.get("/v1/event/list", params=params)
    assert resp.status == 200
    return int(resp.headers["X-Consul-Index"]), await resp.json()


async def test_fire_answers_the_event(api: Client) -> None:
    event = await fire(api, "deploy", b"v1.2", node="node.*", service="web", tag="prod")
    assert list(event) == EVENT_FIELDS
    assert UUID.match(event["ID"])
    assert (event["Name"], event["Payload"], event["Version"], event["LTime"]) == ("deploy", "djEuMg==", 1, 0)
    assert (event["NodeFilter"], event["ServiceFilter"], event["TagFilter"]) == ("node.*", "web", "prod")
    assert (await fire(api, "empty"))["Payload"] is None


async def test_list_shows_events_oldest_first_with_lamport_times(api: Client) -> None:
    first = await fire(api, "a", b"one")
    second = await fire(api, "b")
    index, events = await listing(api)
    assert [e["ID"] for e in events] == [first["ID"], second["ID"]]
    assert [e["LTime"] for e in events] == [1, 2]
    assert base64.b64decode(events[0]["Payload"]) == b"one" and events[1]["Payload"] is None
    assert index == index_of(second["ID"]) > index_of(first["ID"])


async def test_list_filters_by_name_only(api: Client) -> None:
    await fire(api, "a")
    named = await fire(api, "b")
    index, events = await listing(api, name="b")
    assert [e["ID"] for e in events] == [named["ID"]] and index == index_of(named["ID"])
    assert await listing(api, name="nothing") == (1, [])
    _, everything = await listing(api, node="nomatch", service="nomatch", tag="nomatch")
    assert len(everything) == 2


async def test_an_empty_list_has_index_1(api: Client) -> None:
    resp = await api.get("/v1/event/list")
    assert (resp.headers["X-Consul-Index"], await resp.json()) == ("1", [])


async def test_the_list_keeps_the_last_256(api: Client) -> None:
    fired = [await fire(api, "e", str(i).encode()) for i in range(260)]
    _, events = await listing(api)
    assert [e["ID"] for e in events] == [e["ID"] for e in fired[4:]]


async def test_filters_decide_whether_this_agent_takes_the_event(api: Client) -> None:
    resp = await api.put("/v1/agent/service/register", json={"Name": "web", "ID": "web-1", "Tags": ["prod"]})
    assert resp.status == 200
    kept = [
        await fire(api, "n", node="^node1$"),
        await fire(api, "s", service="web"),
        await fire(api, "t", service="web-1", tag="pro"),
    ]
    for params in ({"node": "other"}, {"service": "db"}, {"service": "web", "tag": "staging"}):
        await fire(api, "dropped", **params)
    _, events = await listing(api)
    assert [e["ID"] for e in events] == [e["ID"] for e in kept]


async def test_remote_exec_events_are_not_listed(api: Client) -> None:
    await fire(api, "_rexec")
    assert (await listing(api))[1] == []


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/v1/event/fire/", 400, "Missing name"),
        ("/v1/event/fire/x?tag=a", 500, "Cannot provide tag filter without service filter"),
        ("/v1/event/fire/x?node=(", 500, "Invalid node filter: error parsing regexp: "),
        ("/v1/event/fire/x?service=web&tag=[", 500, "Invalid tag filter: error parsing regexp: "),
    ],
)
async def test_fire_errors(api: Client, path: str, status: int, text: str) -> None:
    resp = await api.put(path)
    assert resp.status == status and resp.content_type == "text/plain"
    assert (await resp.text()).startswith(text)


async def test_an_event_over_serfs_size_limit(api: Client) -> None:
    resp = await api.put("/v1/event/fire/big", data=b"x" * 441)
    assert resp.status == 500
    assert await resp.text() == "user event exceeds configured limit of 512 bytes before encoding"
    assert (await api.put("/v1/event/fire/big", data=b"x" * 440)).status == 200


async def test_list_blocks_until_a_new_event(api: Client, notifier_spy: NotifierSpy) -> None:
    await fire(api, "old")
    index, _ = await listing(api)
    waiting = asyncio.ensure_future(api.get("/v1/event/list", params={"index": index, "name": "wanted"}))
    await notifier_spy.parked()
    await fire(api, "unwanted")  # wakes the query, which finds nothing new for its name and waits again
    await notifier_spy.parked()
    wanted = await fire(api, "wanted")
    resp = await waiting
    assert [e["ID"] for e in await resp.json()] == [wanted["ID"]]
    assert int(resp.headers["X-Consul-Index"]) == index_of(wanted["ID"]) > index


async def test_list_times_out_with_the_same_index(api: Client) -> None:
    index, _ = await listing(api)
    resp = await api.get("/v1/event/list", params={"index": index, "wait": "20ms"})
    assert int(resp.headers["X-Consul-Index"]) == index == 1


async def test_fire_with_a_matching_datacenter(api: Client) -> None:
    assert (await api.put("/v1/event/fire/x", params={"dc": "dc1"})).status == 200
    resp = await api.put("/v1/event/fire/x", params={"dc": "elsewhere"})
    assert (resp.status, await resp.text()) == (500, "No path to datacenter")
