"""/v1/kv: values, listings, flags, check-and-set, deletes, size limits, index headers and blocking."""

from __future__ import annotations

import asyncio
import base64
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession
ENTRY_FIELDS = {"LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex"}
MAX_VALUE = 524288


async def put(api: Client, key: str, value: bytes = b"v", **params: Any) -> Any:
    resp = await api.put(f"/v1/kv/{key}", data=value, params=params)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def entry(api: Client, key: str) -> dict[str, Any]:
    resp = await api.get(f"/v1/kv/{key}")
    assert resp.status == 200
    (item,) = await resp.json()
    return item  # type: ignore[no-any-return]


async def fill(api: Client, *names: str) -> None:
    for name in names:
        assert await put(api, name, name.encode()) is True


# ---- single keys ---------------------------------------------------------------------------------
async def test_put_answers_true_and_get_returns_the_entry(api: Client) -> None:
    resp = await api.put("/v1/kv/app/config", data=b"hello")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.read() == b"true"
    resp = await api.get("/v1/kv/app/config")
    assert resp.status == 200
    body = await resp.json()
    assert len(body) == 1 and set(body[0]) == ENTRY_FIELDS  # no Session while unlocked
    item = body[0]
    assert item["Key"] == "app/config"
    assert base64.b64decode(item["Value"]) == b"hello"
    assert (item["Flags"], item["LockIndex"]) == (0, 0)
    assert item["CreateIndex"] == item["ModifyIndex"] > 0
    assert resp.headers["X-Consul-Index"] == str(item["ModifyIndex"])
    assert resp.headers["X-Consul-Knownleader"] == "true"
    assert resp.headers["X-Consul-Lastcontact"] == "0"
    assert resp.headers["X-Consul-Default-Acl-Policy"] == "allow"


async def test_empty_value_is_null(api: Client) -> None:
    await put(api, "empty", b"")
    assert (await entry(api, "empty"))["Value"] is None


async def test_overwrite_keeps_create_index_and_moves_modify_index(api: Client) -> None:
    await put(api, "k", b"1")
    first = await entry(api, "k")
    await put(api, "k", b"2")
    second = await entry(api, "k")
    assert second["CreateIndex"] == first["CreateIndex"]
    assert second["ModifyIndex"] > first["ModifyIndex"]
    assert base64.b64decode(second["Value"]) == b"2"


async def test_binary_values_round_trip(api: Client) -> None:
    value = bytes(range(256)) * 4
    await put(api, "bin", value)
    assert base64.b64decode((await entry(api, "bin"))["Value"]) == value
    resp = await api.get("/v1/kv/bin", params={"raw": ""})
    assert await resp.read() == value


async def test_missing_key_is_404_with_empty_body_and_index_headers(api: Client) -> None:
    resp = await api.get("/v1/kv/does/not/exist")
    assert resp.status == 404
    assert await resp.read() == b""
    assert int(resp.headers["X-Consul-Index"]) >= 1
    assert resp.headers["X-Consul-Knownleader"] == "true"
    raw_names = {name.decode() for name, _ in resp.raw_headers}
    assert {"X-Consul-Index", "X-Consul-Knownleader", "X-Consul-Lastcontact"} <= raw_names


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_missing_key_name_is_400(api: Client, method: str) -> None:
    resp = await api.request(method, "/v1/kv/")
    assert resp.status == 400
    assert resp.content_type == "text/plain"
    assert await resp.text() == "Missing key name"


async def test_raw_returns_the_bytes_with_safe_headers(api: Client) -> None:
    await put(api, "page", b"<script>alert(1)</script>")
    resp = await api.get("/v1/kv/page?raw")
    assert resp.status == 200
    assert await resp.read() == b"<script>alert(1)</script>"
    assert resp.content_type == "text/plain"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "sandbox"
    assert resp.headers["X-Consul-Index"] == str((await entry(api, "page"))["ModifyIndex"])


async def test_raw_of_a_missing_key_is_404(api: Client) -> None:
    resp = await api.get("/v1/kv/nothing?raw")
    assert resp.status == 404


# ---- flags ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [0, 1, 42, 2**64 - 1])
async def test_flags_are_stored(api: Client, flags: int) -> None:
    await put(api, "flagged", flags=flags)
    assert (await entry(api, "flagged"))["Flags"] == flags


async def test_a_put_without_flags_resets_them(api: Client) -> None:
    await put(api, "flagged", flags=7)
    await put(api, "flagged")
    assert (await entry(api, "flagged"))["Flags"] == 0


# ---- check-and-set -------------------------------------------------------------------------------
async def test_cas_zero_creates_only_when_absent(api: Client) -> None:
    assert await put(api, "once", b"first", cas=0) is True
    assert await put(api, "once", b"second", cas=0) is False
    assert base64.b64decode((await entry(api, "once"))["Value"]) == b"first"


async def test_cas_with_the_current_index_succeeds_and_a_stale_one_fails(api: Client) -> None:
    await put(api, "counter", b"1")
    index = (await entry(api, "counter"))["ModifyIndex"]
    assert await put(api, "counter", b"2", cas=index) is True
    assert await put(api, "counter", b"3", cas=index) is False
    item = await entry(api, "counter")
    assert base64.b64decode(item["Value"]) == b"2"
    assert item["ModifyIndex"] > index


async def test_cas_on_a_missing_key_with_nonzero_index_fails(api: Client) -> None:
    assert await put(api, "ghost", cas=5) is False
    assert (await api.get("/v1/kv/ghost")).status == 404


async def test_concurrent_cas_lets_exactly_one_writer_win(api: Client) -> None:
    await put(api, "lock", b"0")
    index = (await entry(api, "lock"))["ModifyIndex"]
    results = await asyncio.gather(*(put(api, "lock", str(i).encode(), cas=index) for i in range(10)))
    assert results.count(True) == 1


# ---- deletes -------------------------------------------------------------------------------------
async def test_delete_answers_true_even_for_a_missing_key(api: Client) -> None:
    await put(api, "gone")
    resp = await api.delete("/v1/kv/gone")
    assert (resp.status, await resp.read()) == (200, b"true")
    assert (await api.get("/v1/kv/gone")).status == 404
    resp = await api.delete("/v1/kv/never-was")
    assert (resp.status, await resp.json()) == (200, True)


async def test_delete_with_cas(api: Client) -> None:
    await put(api, "d")
    index = (await entry(api, "d"))["ModifyIndex"]
    for cas, expected in ((index + 100, False), (0, False), (index, True)):
        resp = await api.delete("/v1/kv/d", params={"cas": cas})
        assert await resp.json() is expected, cas
    assert (await api.get("/v1/kv/d")).status == 404


async def test_recursive_delete_removes_the_prefix_only(api: Client) -> None:
    await fill(api, "web/a", "web/b/c", "website", "db/a")
    resp = await api.delete("/v1/kv/web/?recurse")
    assert await resp.json() is True
    resp = await api.get("/v1/kv/?keys")
    assert await resp.json() == ["db/a", "website"]


async def test_recursive_delete_of_everything(api: Client) -> None:
    await fill(api, "a", "b/c")
    resp = await api.delete("/v1/kv/?recurse")
    assert await resp.json() is True
    assert await (await api.get("/v1/kv/?keys")).json() == []


# ---- listings ------------------------------------------------------------------------------------
async def test_recurse_lists_entries_under_the_prefix_in_key_order(api: Client) -> None:
    await fill(api, "web/b", "web/a", "web/sub/x", "website", "db")
    resp = await api.get("/v1/kv/web/?recurse")
    body = await resp.json()
    assert [e["Key"] for e in body] == ["web/a", "web/b", "web/sub/x"]
    assert all(set(e) == ENTRY_FIELDS for e in body)
    assert resp.headers["X-Consul-Index"] == str(max(e["ModifyIndex"] for e in body))
    resp = await api.get("/v1/kv/web?recurse")  # a plain string prefix, as in Consul
    assert [e["Key"] for e in await resp.json()] == ["web/a", "web/b", "web/sub/x", "website"]


async def test_recurse_with_no_entries_is_404(api: Client) -> None:
    resp = await api.get("/v1/kv/nothing/?recurse")
    assert resp.status == 404
    assert "X-Consul-Index" in resp.headers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("keys", ["web/a", "web/b", "web/sub/x", "web/sub/y/z"]),
        ("keys&separator=/", ["web/a", "web/b", "web/sub/"]),
        ("keys&seperator=/", ["web/a", "web/b", "web/sub/"]),
        ("keys&separator=sub", ["web/a", "web/b", "web/sub"]),
    ],
)
async def test_keys_listing_and_separator_rollup(api: Client, query: str, expected: list[str]) -> None:
    await fill(api, "web/a", "web/b", "web/sub/x", "web/sub/y/z", "db/q")
    resp = await api.get(f"/v1/kv/web/?{query}")
    assert resp.status == 200
    assert await resp.json() == expected


async def test_keys_at_the_root_with_a_separator(api: Client) -> None:
    await fill(api, "web/a", "db/q", "top")
    assert await (await api.get("/v1/kv/?keys&separator=/")).json() == ["db/", "top", "web/"]


async def test_keys_of_an_empty_store_is_an_empty_list_but_a_missing_prefix_is_404(api: Client) -> None:
    resp = await api.get("/v1/kv/?keys")
    assert (resp.status, await resp.json()) == (200, [])
    resp = await api.get("/v1/kv/nope/?keys")
    assert resp.status == 404


# ---- sizes ---------------------------------------------------------------------------------------
async def test_a_value_of_exactly_the_limit_is_stored(api: Client) -> None:
    value = b"x" * MAX_VALUE
    assert await put(api, "big", value) is True
    resp = await api.get("/v1/kv/big?raw")
    assert len(await resp.read()) == MAX_VALUE


async def test_a_value_over_the_limit_is_413(api: Client) -> None:
    resp = await api.put("/v1/kv/too-big", data=b"x" * (MAX_VALUE + 1))
    assert resp.status == 413
    assert resp.content_type == "text/plain"
    text = await resp.text()
    assert text.startswith(f"Request body({MAX_VALUE + 1} bytes) too large, max size: {MAX_VALUE} bytes.")
    assert (await api.get("/v1/kv/too-big")).status == 404


# ---- keys that need care -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("config/app.json", "config/app.json"),
        ("caf%C3%A9/men%C3%BC", "café/menü"),
        ("a%2Fb", "a/b"),
        ("with%20space", "with space"),
        ("a:b@c,d=e", "a:b@c,d=e"),
        ("trailing/", "trailing/"),
    ],
)
async def test_key_spellings(api: Client, path: str, key: str) -> None:
    assert (await api.put(f"/v1/kv/{path}", data=b"1")).status == 200
    resp = await api.get("/v1/kv/?recurse")
    assert [e["Key"] for e in await resp.json()] == [key]


# ---- consistency and blocking --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("param", "mode"), [("", "leader"), ("stale", "stale"), ("consistent", "consistent")]
)
async def test_consistency_modes(api: Client, param: str, mode: str) -> None:
    await put(api, "k")
    resp = await api.get(f"/v1/kv/k?{param}")
    assert resp.status == 200
    assert resp.headers["X-Consul-Effective-Consistency"] == mode


async def test_stale_and_consistent_together_is_400(api: Client) -> None:
    resp = await api.get("/v1/kv/k?stale&consistent")
    assert resp.status == 400
    assert await resp.text() == "Cannot specify ?stale with ?consistent, conflicting semantics."


async def test_blocking_get_wakes_on_a_write_to_the_key(api: Client, notifier_spy: NotifierSpy) -> None:
    await put(api, "watched", b"1")
    index = (await entry(api, "watched"))["ModifyIndex"]
    blocked = asyncio.create_task(api.get(f"/v1/kv/watched?index={index}&wait=30s"))
    await notifier_spy.parked()
    await put(api, "watched", b"2")
    resp = await blocked
    assert int(resp.headers["X-Consul-Index"]) > index
    assert base64.b64decode((await resp.json())[0]["Value"]) == b"2"


async def test_blocking_get_times_out_with_the_same_index(api: Client) -> None:
    await put(api, "quiet")
    index = (await entry(api, "quiet"))["ModifyIndex"]
    resp = await api.get(f"/v1/kv/quiet?index={index}&wait=50ms")
    assert resp.status == 200
    assert resp.headers["X-Consul-Index"] == str(index)


async def test_blocking_on_a_missing_key_wakes_when_it_is_created(
    api: Client, notifier_spy: NotifierSpy
) -> None:
    resp = await api.get("/v1/kv/later")
    index = int(resp.headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/kv/later?index={index}&wait=30s"))
    await notifier_spy.parked()
    await put(api, "later", b"now")
    resp = await blocked
    assert resp.status == 200
    assert int(resp.headers["X-Consul-Index"]) > index


async def test_recursive_watch_wakes_on_a_delete_under_the_prefix(
    api: Client, notifier_spy: NotifierSpy
) -> None:
    await fill(api, "svc/a", "svc/b", "elsewhere")
    resp = await api.get("/v1/kv/svc/?recurse")
    index = int(resp.headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/kv/svc/?recurse&index={index}&wait=30s"))
    await notifier_spy.parked()
    await api.delete("/v1/kv/svc/b")
    resp = await blocked
    assert int(resp.headers["X-Consul-Index"]) > index  # the tombstone carries the delete's index
    assert [e["Key"] for e in await resp.json()] == ["svc/a"]


async def test_recursive_watch_ignores_keys_outside_the_prefix(
    api: Client, notifier_spy: NotifierSpy
) -> None:
    await fill(api, "svc/a", "elsewhere")
    index = int((await api.get("/v1/kv/svc/?recurse")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/kv/svc/?recurse&index={index}&wait=300ms"))
    _, futures = await notifier_spy.parked()
    await put(api, "elsewhere", b"changed")
    await api.delete("/v1/kv/elsewhere")
    assert not any(f.done() for f in futures)
    resp = await blocked
    assert resp.headers["X-Consul-Index"] == str(index)


async def test_deleting_the_newest_key_still_moves_the_listing_index_forward(api: Client) -> None:
    await fill(api, "p/a", "p/b")
    before = int((await api.get("/v1/kv/p/?keys")).headers["X-Consul-Index"])
    await api.delete("/v1/kv/p/b")
    after = int((await api.get("/v1/kv/p/?keys")).headers["X-Consul-Index"])
    assert after > before


async def test_keys_listing_blocks_too(api: Client, notifier_spy: NotifierSpy) -> None:
    await fill(api, "k/a")
    index = int((await api.get("/v1/kv/k/?keys")).headers["X-Consul-Index"])
    blocked = asyncio.create_task(api.get(f"/v1/kv/k/?keys&index={index}&wait=30s"))
    await notifier_spy.parked()
    await fill(api, "k/b")
    assert await (await blocked).json() == ["k/a", "k/b"]


# ---- flags that conflict -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "query"),
    [
        ("PUT", "cas=0&acquire=abc"),
        ("PUT", "acquire=abc&release=abc"),
        ("DELETE", "recurse&cas=1"),
    ],
)
async def test_conflicting_flags_are_400(api: Client, method: str, query: str) -> None:
    resp = await api.request(method, f"/v1/kv/k?{query}", data=b"v")
    assert resp.status == 400
    assert (await resp.text()).startswith("Conflicting flags")
