"""Planning a /v1/txn op list against the view: every verb's result or Consul error, in-transaction
visibility, guards on what was read, and the net backend ops (one write per key)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from proconsul.state import keys, kvcodec
from proconsul.state.txnplan import (
    CheckOp,
    CheckResult,
    KVOp,
    KVResult,
    NodeOp,
    NodeResult,
    Plan,
    ServiceOp,
    ServiceResult,
    TxnError,
    TxnOp,
    has_writes,
    plan,
    settle,
)
from proconsul.state.view import StateView
from proconsul.store import Compare, Delete, Event, KeyValue, Put

SESSION = "0c1e4d0b-5f3a-4c11-9a57-6e0f1f1b0a01"
OTHER = "7d2b9e4e-2a6c-4f0e-8f41-3b9f0f6a2c02"
NEW_REV = 100
NOT_HELD = "lock isn't held, or is held by another session"
SESSION_CHECK, CURRENT = "failed session check for key", "current session"
WEB_ON_N1 = 'service "web" on node "n1"'


def put(key: str, rev: int, value: bytes) -> Event:
    return Event("put", KeyValue(key, value, rev, rev, 1))


def kv(key: str, rev: int, value: bytes = b"v", session: str = "", lock_index: int = 0) -> Event:
    return put(keys.kv_key(key), rev, kvcodec.encode(kvcodec.KVMeta(0, lock_index, session), value))


def record(key: str, rev: int, data: dict[str, Any]) -> Event:
    return put(key, rev, orjson.dumps(data))


NODE = {"ID": "", "Node": "n1", "Address": "10.0.0.1", "Datacenter": "dc1", "TaggedAddresses": {}, "Meta": {}}
WEB = {"ID": "web", "Service": "web", "Tags": ["v1"], "Port": 80}
CHECK = {
    "Node": "n1",
    "CheckID": "c1",
    "Name": "c1",
    "Status": "passing",
    "ServiceID": "web",
    "ServiceName": "web",
}


def make_view() -> StateView:
    """kv a@1, b/x@2, b/y@3, locked@6 (held by SESSION); node n1@4 with web@5 and check c1@5."""
    view = StateView()
    view.apply([kv("a", 1, b"1")])
    view.apply([kv("b/x", 2)])
    view.apply([kv("b/y", 3)])
    view.apply([record(keys.node_key("n1"), 4, NODE)])
    view.apply([record(keys.service_key("n1", "web"), 5, WEB), record(keys.check_key("n1", "c1"), 5, CHECK)])
    view.apply([record(keys.session_key(SESSION), 6, {"ID": SESSION, "Node": "n1"})])
    view.apply([kv("locked", 7, b"L", session=SESSION, lock_index=1)])
    return view


@pytest.fixture
def view() -> StateView:
    return make_view()


def run(view: StateView, *ops: TxnOp, delayed: frozenset[str] = frozenset()) -> Plan:
    return plan(ops, view, lambda key: key in delayed)


def only(p: Plan) -> Any:
    assert p.errors == []
    (result,) = p.results
    return settle(result, NEW_REV)


def kv_results(p: Plan) -> list[KVResult]:
    settled = [settle(r, NEW_REV) for r in p.results]
    assert all(isinstance(r, KVResult) for r in settled)
    return settled  # type: ignore[return-value]


def error(p: Plan) -> str:
    assert p.results == [] and p.ops == [] and p.compares == []
    (e,) = p.errors
    return e.what


# ---- KV verbs ------------------------------------------------------------------------------------
def test_set_creates_a_key_without_answering_its_value(view: StateView) -> None:
    p = run(view, KVOp("set", "new", b"x", flags=3))
    r = only(p)
    assert isinstance(r, KVResult) and not r.with_value
    assert (r.entry.key, r.entry.flags, r.entry.create_index, r.entry.modify_index) == (
        "new",
        3,
        NEW_REV,
        NEW_REV,
    )
    assert p.ops == [Put("kv/new", kvcodec.encode(kvcodec.KVMeta(3), b"x"))]
    assert p.compares == [Compare("kv/new", "mod", "==", 0)]


def test_set_keeps_create_index_and_the_lock(view: StateView) -> None:
    r = only(run(view, KVOp("set", "locked", b"new")))
    assert (r.entry.create_index, r.entry.modify_index) == (7, NEW_REV)
    assert (r.entry.session, r.entry.lock_index) == (SESSION, 1)


def test_set_of_an_identical_entry_writes_nothing(view: StateView) -> None:
    p = run(view, KVOp("set", "a", b"1"))
    assert p.ops == [] and only(p).entry.modify_index == 1


@pytest.mark.parametrize(
    ("key", "index", "ok"),
    [("new", 0, True), ("a", 0, False), ("a", 1, True), ("a", 2, False), ("new", 5, False)],
)
def test_cas(view: StateView, key: str, index: int, ok: bool) -> None:
    p = run(view, KVOp("cas", key, b"z", index=index))
    if ok:
        assert only(p).entry.modify_index == NEW_REV
    else:
        assert error(p) == f'failed to set key "{key}", index is stale'


@pytest.mark.parametrize(
    ("op", "what"),
    [
        (KVOp("lock", "k"), "missing session"),
        (KVOp("lock", "k", session="nope"), 'invalid session "nope"'),
        (KVOp("lock", "locked", session=OTHER), "invalid session " + f'"{OTHER}"'),
        (KVOp("unlock", "k"), "missing session"),
        (KVOp("unlock", "a", session=SESSION), 'failed to unlock key "a", ' + NOT_HELD),
        (KVOp("unlock", "nope", session=SESSION), 'failed to unlock key "nope", ' + NOT_HELD),
        (KVOp("get", "nope"), 'key "nope" doesn\'t exist'),
        (KVOp("check-index", "nope", index=1), 'failed to check index, key "nope" doesn\'t exist'),
        (KVOp("check-index", "a", index=9), 'failed index check for key "a", current modify index 1 != 9'),
        (KVOp("check-session", "nope"), 'failed to check session, key "nope" doesn\'t exist'),
        (KVOp("check-session", "locked", session=OTHER), f'{SESSION_CHECK} "locked", {CURRENT} "{SESSION}" != "{OTHER}"'),  # noqa: E501
        (KVOp("check-session", "a", session=SESSION), f'{SESSION_CHECK} "a", {CURRENT} "" != "{SESSION}"'),
        (KVOp("check-not-exists", "a"), 'key "a" exists'),
        (KVOp("delete-cas", "a", index=9), 'failed to delete key "a", index is stale'),
        (KVOp("frob", "a"), 'unknown KV verb "frob"'),
        (KVOp("get", ""), "Must provide key"),
        (KVOp("set", ""), "Must provide key"),
    ],
)  # fmt: skip
def test_kv_errors(view: StateView, op: KVOp, what: str) -> None:
    assert error(run(view, op)) == what


def test_lock_sets_the_holder_and_counts_lock_index(view: StateView) -> None:
    view.apply([kv("free", 8, lock_index=4)])
    r = only(run(view, KVOp("lock", "free", b"mine", session=SESSION)))
    assert (r.entry.session, r.entry.lock_index, r.entry.value) == (SESSION, 5, b"mine")
    assert not r.with_value
    p = run(view, KVOp("lock", "fresh", session=SESSION))
    assert only(p).entry.lock_index == 1
    assert Compare(keys.session_key(SESSION), "create", "==", 6) in p.compares


def test_relocking_by_the_holder_keeps_lock_index(view: StateView) -> None:
    r = only(run(view, KVOp("lock", "locked", b"again", session=SESSION)))
    assert (r.entry.lock_index, r.entry.value) == (1, b"again")


def test_locking_a_key_held_by_another_session(view: StateView) -> None:
    view.apply([record(keys.session_key(OTHER), 8, {"ID": OTHER, "Node": "n1"})])
    assert (
        error(run(view, KVOp("lock", "locked", session=OTHER)))
        == 'failed to lock key "locked", lock is already held'
    )


def test_unlock_clears_the_holder_and_keeps_lock_index(view: StateView) -> None:
    r = only(run(view, KVOp("unlock", "locked", b"after", session=SESSION)))
    assert (r.entry.session, r.entry.lock_index, r.entry.value) == ("", 1, b"after")


def test_lock_delay_is_checked_before_anything_runs(view: StateView) -> None:
    p = run(view, KVOp("get", "nope"), KVOp("lock", "k", session=SESSION), delayed=frozenset({"k"}))
    assert p.errors == [TxnError(1, 'failed to lock key "k" due to lock delay')]


def test_get_answers_the_value(view: StateView) -> None:
    r = only(run(view, KVOp("get", "a")))
    assert r.with_value and (r.entry.value, r.entry.modify_index) == (b"1", 1)


def test_get_or_empty_answers_the_ops_own_entry_for_a_missing_key(view: StateView) -> None:
    r = only(run(view, KVOp("get-or-empty", "nope", flags=2, index=9, session=SESSION)))
    e = r.entry
    assert (e.key, e.value, e.flags, e.session, e.create_index, e.modify_index) == (
        "nope",
        b"",
        2,
        SESSION,
        0,
        9,
    )
    assert only(run(view, KVOp("get-or-empty", "a"))).entry.value == b"1"


def test_get_tree_lists_in_key_order_with_earlier_writes(view: StateView) -> None:
    p = run(view, KVOp("set", "b/a", b"0"), KVOp("delete", "b/y"), KVOp("get-tree", "b/"))
    tree = kv_results(p)[1:]
    assert [(r.entry.key, r.entry.modify_index) for r in tree] == [("b/a", NEW_REV), ("b/x", 2)]
    assert all(r.with_value for r in tree)


def test_check_verbs_answer_the_entry_without_its_value(view: StateView) -> None:
    for op in (KVOp("check-index", "a", index=1), KVOp("check-session", "locked", session=SESSION)):
        r = only(run(view, op))
        assert not r.with_value
    assert run(view, KVOp("check-not-exists", "nope")).results == []


def test_deletes_answer_nothing(view: StateView) -> None:
    p = run(view, KVOp("delete", "a"), KVOp("delete", "nope"), KVOp("delete-cas", "nope", index=3))
    assert p.results == [] and p.errors == []
    assert p.ops == [Delete("kv/a")]
    assert (
        only(
            run(view, KVOp("delete-cas", "a", index=1), KVOp("check-not-exists", "a"), KVOp("set", "q"))
        ).entry.key
        == "q"
    )


# ---- in-transaction visibility, failures, net ops ------------------------------------------------
def test_later_ops_see_earlier_writes(view: StateView) -> None:
    p = run(view, KVOp("set", "a", b"2"), KVOp("get", "a"), KVOp("check-index", "a", index=1))
    assert p.errors == [TxnError(2, f'failed index check for key "a", current modify index {-1} != 1')]
    p = run(view, KVOp("delete", "a"), KVOp("get", "a"))
    assert p.errors == [TxnError(1, 'key "a" doesn\'t exist')]


def test_every_failing_op_is_reported_and_nothing_applies(view: StateView) -> None:
    p = run(view, KVOp("set", "x"), KVOp("get", "nope"), KVOp("set", "y"), KVOp("cas", "a", index=7))
    assert [e.op_index for e in p.errors] == [1, 3]
    assert (p.results, p.ops, p.compares) == ([], [], [])


def test_a_key_written_twice_is_put_once(view: StateView) -> None:
    p = run(view, KVOp("set", "k", b"1"), KVOp("set", "k", b"2"))
    assert p.ops == [Put("kv/k", kvcodec.encode(kvcodec.KVMeta(), b"2"))]
    assert [r.entry.create_index for r in kv_results(p)] == [NEW_REV, NEW_REV]


def test_delete_tree_is_one_ranged_delete(view: StateView) -> None:
    p = run(view, KVOp("delete-tree", "b/"), KVOp("get", "b/x"))
    assert p.errors == [TxnError(1, 'key "b/x" doesn\'t exist')]
    p = run(view, KVOp("delete-tree", "b/"), KVOp("set", "c"))
    assert p.ops == [Delete("kv/b/", prefix=True), Put("kv/c", kvcodec.encode(kvcodec.KVMeta(), b""))]


def test_delete_tree_then_a_write_inside_it_is_spelt_out(view: StateView) -> None:
    p = run(view, KVOp("delete-tree", "b/"), KVOp("set", "b/x", b"again"))
    assert p.ops == [Delete("kv/b/y"), Put("kv/b/x", kvcodec.encode(kvcodec.KVMeta(), b"again"))]
    assert only(p).entry.create_index == NEW_REV


def test_delete_tree_of_everything(view: StateView) -> None:
    assert run(view, KVOp("delete-tree", "")).ops == [Delete("kv/", prefix=True)]


def test_every_key_read_is_guarded_once(view: StateView) -> None:
    p = run(
        view, KVOp("get", "a"), KVOp("check-not-exists", "z"), KVOp("get-tree", "b/"), KVOp("set", "a", b"9")
    )
    assert p.compares == [
        Compare("kv/a", "mod", "==", 1),
        Compare("kv/z", "mod", "==", 0),
        Compare("kv/b/x", "mod", "==", 2),
        Compare("kv/b/y", "mod", "==", 3),
    ]


def test_has_writes() -> None:
    assert not has_writes([KVOp("get", "a"), KVOp("check-index", "a"), NodeOp("get", {}), CheckOp("get", {})])
    assert has_writes([KVOp("get", "a"), KVOp("delete-tree", "")])
    assert has_writes([ServiceOp("set", "n1", {})])


# ---- catalog verbs -------------------------------------------------------------------------------
def node_op(verb: str, index: int = 0, **fields: Any) -> NodeOp:
    return NodeOp(verb, {**NODE, **fields}, index)


def test_node_set_get_and_identical_set(view: StateView) -> None:
    r = only(run(view, node_op("set", Node="n2", Address="10.0.0.2")))
    assert isinstance(r, NodeResult) and (r.record.create_index, r.record.data["Node"]) == (NEW_REV, "n2")
    p = run(view, node_op("set"))
    assert p.ops == [] and only(p).record.modify_index == 4
    assert only(run(view, node_op("get"))).record.data == NODE
    assert error(run(view, node_op("get", Node="zz"))) == 'node "zz" doesn\'t exist'


def test_node_get_by_id(view: StateView) -> None:
    view.apply([record(keys.node_key("n9"), 8, {**NODE, "Node": "n9", "ID": "AB-12"})])
    assert only(run(view, node_op("get", ID="ab-12", Node="whatever"))).record.data["Node"] == "n9"


@pytest.mark.parametrize(
    ("op", "what"),
    [
        (node_op("cas", 0), 'failed to set node "n1", index is stale'),
        (node_op("cas", 3), 'failed to set node "n1", index is stale'),
        (node_op("delete-cas", 3), 'failed to delete node "n1", index is stale'),
        (node_op("delete-cas", 4, Node="zz"), 'failed to delete node "zz", index is stale'),
        (node_op("frob"), 'unknown Node verb "frob"'),
        (ServiceOp("get", "n1", {"ID": "zz"}), 'service "zz" on node "n1" doesn\'t exist'),
        (ServiceOp("set", "n9", {"ID": "x", "Service": "x"}), "Missing node registration"),
        (ServiceOp("cas", "n1", WEB, 0), f"failed to set {WEB_ON_N1}, index is stale"),
        (ServiceOp("delete-cas", "n1", WEB, 4), f"failed to delete {WEB_ON_N1}, index is stale"),
        (ServiceOp("frob", "n1", {}), 'unknown Service verb "frob"'),
        (CheckOp("get", {"Node": "n1", "CheckID": "zz"}), 'check "zz" on node "n1" doesn\'t exist'),
        (CheckOp("set", {**CHECK, "Node": "n9"}), "Missing node registration"),
        (CheckOp("set", {**CHECK, "ServiceID": "zz"}), "Missing service registration"),
        (CheckOp("cas", CHECK, 9), 'failed to set check "c1" on node "n1", index is stale'),
        (CheckOp("delete-cas", CHECK, 9), 'failed to delete check "c1" on node "n1", index is stale'),
        (CheckOp("frob", CHECK), 'unknown Check verb "frob"'),
    ],
)  # fmt: skip
def test_catalog_errors(view: StateView, op: TxnOp, what: str) -> None:
    assert error(run(view, op)) == what


def test_node_cas_and_delete_cas_with_the_right_index(view: StateView) -> None:
    assert only(run(view, node_op("cas", 4, Address="10.9.9.9"))).record.data["Address"] == "10.9.9.9"
    assert run(view, node_op("delete-cas", 4)).errors == []


def test_node_delete_removes_its_services_and_checks(view: StateView) -> None:
    p = run(view, node_op("delete"), ServiceOp("get", "n1", {"ID": "web"}))
    assert p.errors == [TxnError(1, 'service "web" on node "n1" doesn\'t exist')]
    p = run(view, node_op("delete"))
    assert p.ops == [Delete("chk/n1/", prefix=True), Delete("svc/n1/", prefix=True), Delete("node/n1")]


def test_service_set_and_delete_with_its_checks(view: StateView) -> None:
    r = only(run(view, ServiceOp("set", "n1", {"ID": "api", "Service": "api"})))
    assert isinstance(r, ServiceResult) and r.record.create_index == NEW_REV
    p = run(view, ServiceOp("delete", "n1", {"ID": "web"}))
    assert p.ops == [Delete("chk/n1/c1"), Delete("svc/n1/web")]


def test_check_set_takes_the_service_name_and_tags(view: StateView) -> None:
    p = run(view, ServiceOp("set", "n1", {"ID": "api", "Service": "api-name", "Tags": ["t"]}),
            CheckOp("set", {**CHECK, "CheckID": "c2", "ServiceID": "api", "ServiceName": ""}))  # fmt: skip
    r = settle(p.results[1], NEW_REV)
    assert isinstance(r, CheckResult)
    assert (r.record.data["ServiceName"], r.service_tags, r.record.modify_index) == (
        "api-name",
        ["t"],
        NEW_REV,
    )


def test_check_get_and_delete(view: StateView) -> None:
    r = only(run(view, CheckOp("get", {"Node": "n1", "CheckID": "c1"})))
    assert (r.record.data["Status"], r.service_tags) == ("passing", ["v1"])
    assert run(view, CheckOp("delete", CHECK)).ops == [Delete("chk/n1/c1")]
    assert run(view, CheckOp("delete-cas", CHECK, 5)).ops == [Delete("chk/n1/c1")]
