"""consul-template's query grammar, and what each query answers from a real agent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from tests.conftest import AgentProcess

from proconsul.client import ConsulClient
from proconsul.errors import ConfigError
from proconsul.template import dependencies as deps
from proconsul.template.data import HealthService

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web", deps.HealthServiceQuery(name="web")),
        ("prod.web", deps.HealthServiceQuery(name="web", tag="prod")),
        ("v1.2.web", deps.HealthServiceQuery(name="web", tag="v1.2")),
        ("web@dc2", deps.HealthServiceQuery(name="web", dc="dc2")),
        ("web~_agent", deps.HealthServiceQuery(name="web", near="_agent")),
        ("web|passing,warning", deps.HealthServiceQuery(name="web", filters=("passing", "warning"))),
        ("web?ns=team", deps.HealthServiceQuery(name="web", query=(("ns", "team"),))),
        (
            "a=b.my-svc?ns=x@east~node1|any",
            deps.HealthServiceQuery(
                name="my-svc", tag="a=b", dc="east", near="node1", filters=("any",), query=(("ns", "x"),)
            ),
        ),
    ],
)
def test_service_query_grammar(text: str, expected: deps.HealthServiceQuery) -> None:
    assert deps.parse_service(text) == expected


def test_service_filter_may_be_a_second_argument() -> None:
    assert deps.parse_service("web", "any") == deps.parse_service("web|any")
    assert deps.parse_service("web", "warning, passing") == deps.parse_service("web|passing,warning")


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (deps.parse_service, "web!", 'service: invalid format: "web!"'),
        (deps.parse_service, "web|healthy", 'invalid filter "healthy"'),
        (deps.parse_service, "web?color=red", 'unsupported query parameter "color"'),
        (deps.parse_services, "web", 'services: invalid format: "web"'),
        (deps.parse_key, "", 'key: invalid format: ""'),
    ],
)
def test_bad_queries_are_config_errors(parse: Callable[..., object], text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("|", r"\|").replace("?", r"\?")):
        parse(text)


def test_identical_queries_are_one_dependency() -> None:
    assert len({deps.parse_service("web"), deps.parse_service("web"), deps.parse_service("web|passing")}) == 2
    assert deps.parse_key("a/b", block=True) != deps.parse_key("a/b")
    assert deps.parse_prefix("/config/") == deps.parse_prefix("config/")


# ---- answers from a real agent ------------------------------------------------------------------------
@pytest.fixture
async def consul(agent_process: Callable[..., AgentProcess]) -> AsyncIterator[ConsulClient]:
    agent = agent_process("-dev")
    async with ConsulClient(agent.http_addr) as client:
        yield client


async def _register(
    client: ConsulClient, sid: str, *, port: int, tags: list[str], status: str = "passing", address: str = ""
) -> None:
    await client.put(
        "/v1/agent/service/register",
        {
            "ID": sid,
            "Name": "web",
            "Port": port,
            "Tags": tags,
            "Address": address,
            "Check": {"TTL": "30s", "Status": status},
        },
    )


async def _fetch(client: ConsulClient, dep: deps.Dependency) -> object:
    return (await dep.fetch(client, index=None, wait=1.0, stale=False)).value


async def test_service_answers_healthy_instances_sorted_with_node_address(consul: ConsulClient) -> None:
    await _register(consul, "web-b", port=81, tags=["z", "a"])
    await _register(consul, "web-a", port=80, tags=["x"], address="10.0.0.7")
    await _register(consul, "web-c", port=82, tags=[], status="critical")
    healthy = await _fetch(consul, deps.parse_service("web"))
    assert isinstance(healthy, tuple)
    assert [(s.ID, s.Port, s.Status) for s in healthy] == [("web-a", 80, "passing"), ("web-b", 81, "passing")]
    first, second = healthy
    assert isinstance(first, HealthService)
    assert first.Address == "10.0.0.7"
    assert second.Address == second.NodeAddress == "127.0.0.1"
    assert list(second.Tags) == ["a", "z"] and second.Tags.Contains("z")


async def test_explicit_filters_filter_on_the_aggregated_status(consul: ConsulClient) -> None:
    await _register(consul, "web-1", port=80, tags=[])
    await _register(consul, "web-2", port=81, tags=[], status="warning")
    await _register(consul, "web-3", port=82, tags=[], status="critical")
    any_ = await _fetch(consul, deps.parse_service("web|any"))
    assert [(s.ID, s.Status) for s in any_] == [
        ("web-1", "passing"),
        ("web-2", "warning"),
        ("web-3", "critical"),
    ]
    ok = await _fetch(consul, deps.parse_service("web", "passing,warning"))
    assert [s.ID for s in ok] == ["web-1", "web-2"]
    tagged = await _fetch(consul, deps.parse_service("prod.web|any"))
    assert tagged == ()


async def test_services_nodes_and_node(consul: ConsulClient) -> None:
    await _register(consul, "web-1", port=80, tags=["b", "a"])
    services = await _fetch(consul, deps.parse_services())
    assert [(s.Name, list(s.Tags)) for s in services] == [("consul", []), ("web", ["a", "b"])]
    nodes = await _fetch(consul, deps.parse_nodes())
    assert [n.Node for n in nodes] == ["proc1"]
    own = await _fetch(consul, deps.parse_node())
    assert own is not None and own.Node.Node == "proc1"
    assert [s.ID for s in own.Services] == ["consul", "web-1"]
    assert await _fetch(consul, deps.parse_node("nosuchnode")) is None


async def test_kv_queries(consul: ConsulClient) -> None:
    for key, value in (("app/a", "1"), ("app/b/c", "2"), ("app/b/", ""), ("other", "x")):
        await consul.kv_put(key, value.encode())
    assert await _fetch(consul, deps.parse_key("app/a")) == "1"
    assert await _fetch(consul, deps.parse_key("app/missing")) is None
    pairs = await _fetch(consul, deps.parse_prefix("app"))
    assert [(p.Key, p.Path, p.Value) for p in pairs] == [
        ("a", "app/a", "1"),
        ("b/", "app/b/", ""),
        ("b/c", "app/b/c", "2"),
    ]
