from proconsul.cli.catalog import format_nodes, format_services, nodes_from_service

from .conftest import Runner

NODES = [
    {"ID": "b4e1d0c3-6c7c-3f3e-9a2e-1e2f7c5d8a9b", "Node": "worker-01", "Address": "10.0.0.1",
     "Datacenter": "dc1", "TaggedAddresses": {"wan": "10.0.0.1", "lan": "10.0.0.1"},
     "Meta": {"consul-network-segment": ""}},
    {"ID": "", "Node": "n2", "Address": "10.0.0.22", "Datacenter": "dc1", "TaggedAddresses": None,
     "Meta": {}},
]  # fmt: skip


def test_nodes_table_shortens_ids() -> None:
    assert format_nodes(NODES) == (
        "Node       ID        Address    DC\n"
        "worker-01  b4e1d0c3  10.0.0.1   dc1\n"
        "n2                   10.0.0.22  dc1"
    )


def test_nodes_detailed_table() -> None:
    assert format_nodes(NODES[:1], detailed=True) == (
        "Node       ID                                    Address   DC   TaggedAddresses             Meta\n"
        "worker-01  b4e1d0c3-6c7c-3f3e-9a2e-1e2f7c5d8a9b  10.0.0.1  dc1  lan=10.0.0.1, wan=10.0.0.1  "
        "consul-network-segment="
    )


def test_nodes_from_service_entries() -> None:
    entry = {"ID": "x-1", "Node": "n", "Address": "1.2.3.4", "Datacenter": "dc1",
             "TaggedAddresses": {"lan": "1"}, "NodeMeta": {"k": "v"}, "ServiceName": "web"}  # fmt: skip
    assert nodes_from_service([entry]) == [
        {"ID": "x-1", "Node": "n", "Address": "1.2.3.4", "Datacenter": "dc1", "TaggedAddresses": {"lan": "1"},
         "Meta": {"k": "v"}}
    ]  # fmt: skip


def test_services_names_sorted() -> None:
    assert format_services({"redis": ["v1"], "consul": [], "mysql": []}) == "consul\nmysql\nredis"


def test_services_with_tags_like_tabwriter() -> None:
    services = {"redis": ["v1", "primary"], "consul": [], "mysql": ["v1"]}
    assert format_services(services, tags=True) == ("consul      \nmysql       v1\nredis       primary,v1")


def test_too_many_arguments(cli: Runner) -> None:
    for sub in ("datacenters", "nodes", "services"):
        result = cli("catalog", sub, "extra")
        assert (result.code, result.err) == (1, "Too many arguments (expected 0, got 1)\n")
