"""/v1/kv ?acquire and ?release: LockIndex, holders, values and flags, errors, and concurrent acquirers."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from aiohttp import ClientSession

from proconsul.agent.context import AgentContext

Client = ClientSession
ENTRY_FIELDS = ["LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex", "Session"]


async def session(api: Client, **body: Any) -> str:
    resp = await api.put("/v1/session/create", json=body)
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["ID"])


async def put(api: Client, key: str, value: bytes = b"v", **params: Any) -> Any:
    resp = await api.put(f"/v1/kv/{key}", data=value, params=params)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def entry(api: Client, key: str) -> dict[str, Any]:
    resp = await api.get(f"/v1/kv/{key}")
    assert resp.status == 200
    (item,) = await resp.json()
    return item  # type: ignore[no-any-return]


async def test_acquire_locks_a_new_key(api: Client) -> None:
    sid = await session(api)
    assert await put(api, "lock", b"one", acquire=sid, flags=7) is True
    item = await entry(api, "lock")
    assert list(item) == ENTRY_FIELDS
    assert (item["Session"], item["LockIndex"], item["Flags"]) == (sid, 1, 7)
    assert base64.b64decode(item["Value"]) == b"one"
    listed = await (await api.get("/v1/kv/lock", params={"recurse": ""})).json()
    assert listed[0]["Session"] == sid


async def test_reacquiring_keeps_the_lock_index_and_updates_the_value(api: Client) -> None:
    sid = await session(api)
    assert await put(api, "lock", b"one", acquire=sid) is True
    first = await entry(api, "lock")
    assert await put(api, "lock", b"two", acquire=sid) is True
    second = await entry(api, "lock")
    assert second["LockIndex"] == 1
    assert second["CreateIndex"] == first["CreateIndex"]
    assert second["ModifyIndex"] > first["ModifyIndex"]
    assert base64.b64decode(second["Value"]) == b"two"


async def test_another_sessions_lock_refuses_acquire(api: Client) -> None:
    holder, other = await session(api), await session(api)
    assert await put(api, "lock", b"mine", acquire=holder) is True
    assert await put(api, "lock", b"theirs", acquire=other) is False
    item = await entry(api, "lock")
    assert (item["Session"], base64.b64decode(item["Value"])) == (holder, b"mine")


async def test_release_only_by_the_holder_keeps_lock_index(api: Client) -> None:
    holder, other = await session(api), await session(api)
    assert await put(api, "lock", b"1", acquire=holder) is True
    assert await put(api, "lock", b"2", release=other) is False
    assert await put(api, "lock", b"2", release="not-a-session") is False
    assert await put(api, "lock", b"3", release=holder) is True
    item = await entry(api, "lock")
    assert "Session" not in item
    assert item["LockIndex"] == 1
    assert base64.b64decode(item["Value"]) == b"3"  # release writes the body too, as Consul does
    assert await put(api, "lock", b"3", release=holder) is False  # no longer held


async def test_acquiring_an_unlocked_key_increments_lock_index(api: Client) -> None:
    first, second = await session(api), await session(api)
    assert await put(api, "lock", b"", acquire=first) is True
    assert await put(api, "lock", b"", release=first) is True
    assert await put(api, "lock", b"", acquire=second) is True
    assert (await entry(api, "lock"))["LockIndex"] == 2
    assert await put(api, "plain") is True
    assert await put(api, "plain", acquire=second) is True
    assert (await entry(api, "plain"))["LockIndex"] == 1


async def test_release_of_a_missing_key_is_false(api: Client) -> None:
    assert await put(api, "nothing", release=await session(api)) is False


async def test_a_plain_write_succeeds_on_a_locked_key_and_keeps_the_lock(api: Client) -> None:
    sid = await session(api)
    assert await put(api, "lock", b"1", acquire=sid) is True
    assert await put(api, "lock", b"overwritten") is True
    item = await entry(api, "lock")
    assert (item["Session"], item["LockIndex"]) == (sid, 1)
    assert base64.b64decode(item["Value"]) == b"overwritten"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"acquire": "nope"}, 'invalid session "nope"'),
        ({"acquire": ""}, "missing session"),
        ({"release": ""}, "missing session"),
    ],
)
async def test_bad_sessions_are_500_with_consuls_message(
    api: Client, params: dict[str, str], message: str
) -> None:
    resp = await api.put("/v1/kv/lock", data=b"x", params=params)
    assert (resp.status, await resp.text()) == (500, message)
    assert (await api.get("/v1/kv/lock")).status == 404


async def test_a_destroyed_session_cannot_acquire(api: Client) -> None:
    sid = await session(api)
    await api.put(f"/v1/session/destroy/{sid}")
    resp = await api.put("/v1/kv/lock", params={"acquire": sid})
    assert (resp.status, await resp.text()) == (500, f'invalid session "{sid}"')


@pytest.mark.parametrize("query", ["cas=0&acquire=abc", "acquire=abc&release=abc", "cas=1&release=abc"])
async def test_acquire_release_and_cas_conflict(api: Client, query: str) -> None:
    resp = await api.put(f"/v1/kv/lock?{query}", data=b"x")
    assert resp.status == 400
    assert (await resp.text()).startswith("Conflicting flags: ")


async def test_concurrent_acquires_have_exactly_one_winner(api: Client) -> None:
    sessions = [await session(api) for _ in range(12)]
    results = await asyncio.gather(*(put(api, "race", sid.encode(), acquire=sid) for sid in sessions))
    assert results.count(True) == 1
    winner = sessions[results.index(True)]
    item = await entry(api, "race")
    assert (item["Session"], item["LockIndex"]) == (winner, 1)
    assert base64.b64decode(item["Value"]) == winner.encode()


async def test_concurrent_acquire_and_destroy_never_leave_a_dead_holder(
    api: Client, agent_ctx: AgentContext
) -> None:
    for round_ in range(10):
        sid = await session(api, LockDelay="0s")
        key = f"churn/{round_}"
        acquired, _ = await asyncio.gather(
            api.put(f"/v1/kv/{key}", params={"acquire": sid}), api.put(f"/v1/session/destroy/{sid}")
        )
        assert acquired.status in (200, 500)  # 500: the session was already gone
        resp = await api.get(f"/v1/kv/{key}")
        if resp.status == 200:
            assert "Session" not in (await resp.json())[0]
        assert not agent_ctx.view.sessions.pending()


async def test_deleting_a_locked_key_forgets_the_lock(api: Client, agent_ctx: AgentContext) -> None:
    sid = await session(api, Behavior="delete")
    assert await put(api, "gone", acquire=sid) is True
    assert (await api.delete("/v1/kv/gone")).status == 200
    assert agent_ctx.view.sessions.held(sid) == set()
    await api.put(f"/v1/session/destroy/{sid}")
    assert (await api.get("/v1/kv/gone")).status == 404
