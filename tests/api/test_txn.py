"""/v1/txn: every verb over HTTP, result and error shapes, atomicity, concurrent transactions, limits."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientSession

from proconsul.agent.context import AgentContext
from proconsul.store import Compare, Op, Put, TxnResult

if TYPE_CHECKING:
    from conftest import NotifierSpy

Client = ClientSession
KV_FIELDS = ["LockIndex", "Key", "Flags", "Value", "CreateIndex", "ModifyIndex"]
TOO_MANY = "Transaction contains too many operations (129 > 128)"
WEB = {"Service": "web", "Port": 80, "Tags": ["x"]}
ALIVE = {"Node": "ext", "Name": "alive", "ServiceID": "web", "Status": "passing"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kv(verb: str, key: str, value: bytes | None = None, **fields: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"Verb": verb, "Key": key, **fields}
    if value is not None:
        op["Value"] = b64(value)
    return {"KV": op}


async def txn(api: Client, ops: Sequence[Any], status: int = 200, **params: Any) -> Any:
    resp = await api.put("/v1/txn", json=list(ops), params=params)
    body = await resp.json()
    assert resp.status == status, body
    return body


async def txn_error(api: Client, body: bytes, status: int, **headers: str) -> str:
    resp = await api.put("/v1/txn", data=body, headers=headers)
    assert resp.status == status
    assert resp.content_type == "text/plain"
    return await resp.text()


async def session(api: Client) -> str:
    resp = await api.put("/v1/session/create", json={})
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["ID"])


async def get_kv(api: Client, key: str) -> dict[str, Any] | None:
    resp = await api.get(f"/v1/kv/{key}")
    return (await resp.json())[0] if resp.status == 200 else None


# ---- results ------------------------------------------------------------------------------------
async def test_set_then_get_in_one_transaction(api: Client) -> None:
    body = await txn(api, [kv("set", "app/a", b"1", Flags=7), kv("get", "app/a")])
    assert body["Errors"] is None
    first, second = (r["KV"] for r in body["Results"])
    assert list(first) == KV_FIELDS and list(second) == KV_FIELDS
    assert first["Value"] is None and second["Value"] == b64(b"1")
    assert first["Flags"] == second["Flags"] == 7
    assert first["CreateIndex"] == first["ModifyIndex"] == second["ModifyIndex"] > 0
    stored = await get_kv(api, "app/a")
    assert stored is not None and stored["ModifyIndex"] == first["ModifyIndex"]


async def test_write_transactions_send_no_index_headers(api: Client) -> None:
    resp = await api.put("/v1/txn", json=[kv("set", "k", b"v")])
    assert resp.status == 200 and resp.content_type == "application/json"
    assert "X-Consul-Index" not in resp.headers and "X-Consul-Knownleader" not in resp.headers
    assert resp.headers["X-Consul-Default-Acl-Policy"] == "allow"


async def test_read_only_transactions_answer_leader_headers_and_query_meta(api: Client) -> None:
    await txn(api, [kv("set", "r", b"x")])
    for params in ({}, {"stale": ""}, {"consistent": ""}):
        resp = await api.put("/v1/txn", json=[kv("get", "r"), kv("get-tree", "r")], params=params)
        assert resp.status == 200
        assert (resp.headers["X-Consul-Knownleader"], resp.headers["X-Consul-Lastcontact"]) == ("true", "0")
        body = await resp.json()
        assert [r["KV"]["Value"] for r in body["Results"]] == [b64(b"x"), b64(b"x")]
        assert (body["Errors"], body["KnownLeader"], body["LastContact"], body["Index"]) == (None, True, 0, 0)
    resp = await api.put("/v1/txn", json=[kv("get", "r")], params={"stale": "", "consistent": ""})
    assert resp.status == 400


async def test_deletes_answer_no_result(api: Client) -> None:
    await txn(api, [kv("set", "d/1", b""), kv("set", "d/2", b""), kv("set", "d3", b"")])
    body = await txn(api, [kv("delete", "d3"), kv("delete-tree", "d/"), kv("delete-cas", "gone", Index=5)])
    assert body == {"Results": [], "Errors": None}
    assert await get_kv(api, "d/1") is None and await get_kv(api, "d3") is None


async def test_rewriting_inside_a_deleted_tree_commits_one_write_per_key(api: Client) -> None:
    await txn(api, [kv("set", "t/a", b"1"), kv("set", "t/b", b"2"), kv("set", "t/c/d", b"3")])
    body = await txn(api, [kv("delete-tree", "t/"), kv("set", "t/a", b"new"), kv("set", "t/a", b"newer")])
    assert [r["KV"]["Key"] for r in body["Results"]] == ["t/a", "t/a"]
    listed = await (await api.get("/v1/kv/t/", params={"recurse": ""})).json()
    assert [(e["Key"], base64.b64decode(e["Value"])) for e in listed] == [("t/a", b"newer")]
    node = {"Node": {"Verb": "set", "Node": {"Node": "re", "Address": "10.0.0.9"}}}
    service = {"Service": {"Verb": "set", "Node": "re", "Service": {"Service": "svc"}}}
    await txn(api, [node, service])
    await txn(api, [{"Node": {"Verb": "delete", "Node": {"Node": "re"}}}, node, service])
    services = await (await api.get("/v1/catalog/node-services/re")).json()
    assert [s["ID"] for s in services["Services"]] == ["svc"]


async def test_cas_get_or_empty_and_checks(api: Client) -> None:
    created = (await txn(api, [kv("cas", "c", b"1", Index=0)]))["Results"][0]["KV"]
    index = created["ModifyIndex"]
    body = await txn(
        api,
        [
            kv("check-index", "c", Index=index),
            kv("check-not-exists", "none"),
            kv("get-or-empty", "none", Flags=3),
            kv("cas", "c", b"2", Index=index),
        ],
    )
    checked, empty, swapped = (r["KV"] for r in body["Results"])
    assert checked["Value"] is None and checked["ModifyIndex"] == index
    assert (empty["Key"], empty["Flags"], empty["Value"], empty["CreateIndex"]) == ("none", 3, None, 0)
    assert swapped["ModifyIndex"] > index
    stale = await txn(api, [kv("delete-cas", "c", Index=index)], status=409)
    assert stale["Errors"] == [{"OpIndex": 0, "What": 'failed to delete key "c", index is stale'}]
    await txn(api, [kv("delete-cas", "c", Index=swapped["ModifyIndex"])])
    assert await get_kv(api, "c") is None


async def test_lock_unlock_and_check_session(api: Client) -> None:
    sid = await session(api)
    locked = (await txn(api, [kv("lock", "L", b"held", Session=sid)]))["Results"][0]["KV"]
    assert (locked["Session"], locked["LockIndex"], locked["Value"]) == (sid, 1, None)
    body = await txn(api, [kv("check-session", "L", Session=sid), kv("unlock", "L", b"free", Session=sid)])
    checked, unlocked = (r["KV"] for r in body["Results"])
    assert checked["Session"] == sid
    assert "Session" not in unlocked and unlocked["LockIndex"] == 1
    stored = await get_kv(api, "L")
    assert stored is not None and base64.b64decode(stored["Value"]) == b"free" and "Session" not in stored


async def test_lock_delay_refuses_a_lock(api: Client) -> None:
    sid = await session(api)
    await txn(api, [kv("lock", "D", Session=sid)])
    assert (await api.put(f"/v1/session/destroy/{sid}")).status == 200
    other = await session(api)
    body = await txn(api, [kv("lock", "D", Session=other)], status=409)
    assert body["Errors"] == [{"OpIndex": 0, "What": 'failed to lock key "D" due to lock delay'}]


async def test_catalog_ops_share_the_catalogs_records(api: Client) -> None:
    body = await txn(
        api,
        [
            {"Node": {"Verb": "set", "Node": {"Node": "ext", "Address": "10.1.1.1", "Meta": {"a": "b"}}}},
            {"Service": {"Verb": "set", "Node": "ext", "Service": WEB}},
            {"Check": {"Verb": "set", "Check": ALIVE}},
        ],
    )
    node, svc, chk = body["Results"]
    assert node["Node"]["Datacenter"] == "dc1" and node["Node"]["Meta"] == {"a": "b"}
    assert (svc["Service"]["ID"], svc["Service"]["Weights"]) == ("web", {"Passing": 1, "Warning": 1})
    assert (chk["Check"]["CheckID"], chk["Check"]["ServiceName"], chk["Check"]["ServiceTags"]) == (
        "alive",
        "web",
        ["x"],
    )
    listed = await (await api.get("/v1/health/service/web")).json()
    assert [(e["Node"]["Node"], e["Checks"][0]["CheckID"]) for e in listed] == [("ext", "alive")]
    node_get = {"Node": {"Verb": "get", "Node": {"Node": "ext"}}}
    read = await txn(
        api, [node_get, {"Check": {"Verb": "get", "Check": {"Node": "ext", "CheckID": "alive"}}}]
    )
    assert read["Results"][0]["Node"] == node["Node"] and read["Results"][1]["Check"] == chk["Check"]
    await txn(
        api,
        [
            {
                "Node": {
                    "Verb": "delete-cas",
                    "Node": {"Node": "ext", "ModifyIndex": node["Node"]["ModifyIndex"]},
                }
            }
        ],
    )
    assert await (await api.get("/v1/health/service/web")).json() == []


async def test_a_failing_op_in_the_middle_applies_nothing(api: Client) -> None:
    await txn(api, [kv("set", "keep", b"old")])
    body = await txn(
        api,
        [kv("set", "keep", b"new"), kv("get", "missing"), kv("set", "other", b"x"), kv("bogus", "k")],
        status=409,
    )
    assert body == {
        "Results": None,
        "Errors": [
            {"OpIndex": 1, "What": 'key "missing" doesn\'t exist'},
            {"OpIndex": 3, "What": 'unknown KV verb "bogus"'},
        ],
    }
    stored = await get_kv(api, "keep")
    assert stored is not None and base64.b64decode(stored["Value"]) == b"old"
    assert await get_kv(api, "other") is None


async def test_ops_naming_no_kind_are_skipped(api: Client) -> None:
    body = await txn(
        api, [{"Session": {"Verb": "delete"}}, {"KV": None, "kv": None}, kv("get", "nope")], status=409
    )
    assert body["Errors"] == [{"OpIndex": 0, "What": 'key "nope" doesn\'t exist'}]


async def test_field_names_match_case_insensitively(api: Client) -> None:
    await txn(api, [{"kv": {"verb": "set", "key": "lower", "value": b64(b"v")}}])
    stored = await get_kv(api, "lower")
    assert stored is not None and stored["Value"] == b64(b"v")


# ---- concurrency --------------------------------------------------------------------------------
async def test_concurrent_lockers_one_wins(api: Client) -> None:
    sessions = [await session(api) for _ in range(8)]
    bodies = await asyncio.gather(
        *(api.put("/v1/txn", json=[kv("lock", "race", Session=s)]) for s in sessions)
    )
    statuses = sorted(resp.status for resp in bodies)
    assert statuses == [200] + [409] * 7
    stored = await get_kv(api, "race")
    assert stored is not None and stored["Session"] in sessions and stored["LockIndex"] == 1


async def test_a_write_between_planning_and_commit_makes_it_plan_again(
    api: Client, agent_ctx: AgentContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    await txn(api, [kv("set", "x", b"1")])
    original = agent_ctx.backend.txn
    attempts: list[bool] = []

    async def racing(
        compares: Sequence[Compare], then_ops: Sequence[Op], else_ops: Sequence[Op] = ()
    ) -> TxnResult:
        if compares and not attempts:  # someone else writes x right before the first attempt commits
            await original([], [Put("kv/x", b"{}\nraced")])
        result = await original(compares, then_ops, else_ops)
        attempts.append(result.succeeded)
        return result

    monkeypatch.setattr(agent_ctx.backend, "txn", racing)
    body = await txn(api, [kv("get", "x"), kv("set", "y", b"2")])
    assert attempts == [False, True]
    assert body["Results"][0]["KV"]["Value"] == b64(b"raced")


async def test_a_transaction_wakes_kv_watchers(api: Client, notifier_spy: NotifierSpy) -> None:
    await txn(api, [kv("set", "w/a", b"1")])
    index = (await api.get("/v1/kv/w/", params={"recurse": ""})).headers["X-Consul-Index"]
    watcher = asyncio.ensure_future(api.get("/v1/kv/w/", params={"recurse": "", "index": index}))
    await notifier_spy.parked()
    await txn(api, [kv("set", "w/b", b"2"), kv("delete", "w/a")])
    resp = await watcher
    assert [e["Key"] for e in await resp.json()] == ["w/b"]
    assert int(resp.headers["X-Consul-Index"]) > int(index)


# ---- limits and bad bodies ----------------------------------------------------------------------
async def test_128_ops_pass_and_129_are_too_many(api: Client) -> None:
    body = await txn(api, [kv("set", f"n/{i}", b"") for i in range(128)])
    assert len(body["Results"]) == 128
    resp = await api.put("/v1/txn", json=[kv("get", "n/0")] * 129)
    assert (resp.status, await resp.text()) == (413, TOO_MANY)


async def test_body_and_value_size_limits(api: Client) -> None:
    huge = b"[" + b" " * 600_000 + b"]"
    text = await txn_error(api, huge, 413)
    assert text == (
        "Request body(600002 bytes) too large, max size: 524288 bytes. "
        "See https://www.consul.io/docs/agent/config/config-files#txn_max_req_len."
    )
    value = b"x" * 524289
    resp = await api.put("/v1/txn", json=[{"KV": {"Verb": "set", "Key": "big", "Value": b64(value)}}])
    assert resp.status == 413  # the base64 body is over the limit already


async def test_a_value_over_kv_max_value_size(
    api: Client, agent_ctx: AgentContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agent_ctx, "config", dataclasses.replace(agent_ctx.config, kv_max_value_size=4))
    resp = await api.put("/v1/txn", json=[kv("set", "big", b"12345")])
    assert (resp.status, await resp.text()) == (413, 'Value for key "big" is too large (5 > 4 bytes)')


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"{", ""),
        (b'{"KV": {}}', "json: cannot unmarshal object into Go value of type api.TxnOps"),
        (b'[{"KV": {"Verb": "set", "Key": "k", "Value": "!!"}}]', "illegal base64 data at input byte 0"),
        (b'[{"KV": {"Verb": "set", "Key": "k", "Value": 5}}]', "json: cannot unmarshal number"),
        (b'[{"KV": {"Verb": "set", "Key": 5}}]', "json: cannot unmarshal int into Go struct field"),
        (b'["x"]', "json: cannot unmarshal string into Go value of type api.TxnOp"),
    ],
)
async def test_bad_bodies_are_400(api: Client, body: bytes, text: str) -> None:
    assert (await txn_error(api, body, 400)).startswith("Failed to parse body: " + text)


async def test_only_put_is_allowed(api: Client) -> None:
    resp = await api.get("/v1/txn")
    assert resp.status == 405 and resp.headers["Allow"] == "PUT"
