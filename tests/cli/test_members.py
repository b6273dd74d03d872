import pytest

from proconsul.cli.members import format_members, prepare_members, tcp_address

from .conftest import Runner

MEMBERS = [
    {"Name": "node1", "Addr": "10.0.0.1", "Port": 8301, "Status": 1,
     "Tags": {"role": "consul", "dc": "dc1", "build": "1.22.0:9b1e5c3a", "vsn": "2", "port": "8300"}},
    {"Name": "client1", "Addr": "10.0.0.2", "Port": 8301, "Status": 4,
     "Tags": {"role": "node", "dc": "dc1", "build": "1.22.0", "vsn": "2"}},
    {"Name": "a-server", "Addr": "10.0.0.3", "Port": 8301, "Status": 3,
     "Tags": {"role": "consul", "dc": "dc1", "build": "1.21.4", "vsn": "2"}},
    {"Name": "odd", "Addr": "fe80::1", "Port": 8301, "Status": 9, "Tags": {}},
]  # fmt: skip


def test_standard_table() -> None:
    assert format_members(prepare_members(MEMBERS, "_all", ".*")) == (
        "Node      Address         Status   Type     Build   Protocol  DC   Partition  Segment\n"
        "a-server  10.0.0.3:8301   left     server   1.21.4  2         dc1  default    <all>\n"
        "node1     10.0.0.1:8301   alive    server   1.22.0  2         dc1  default    <all>\n"
        "client1   10.0.0.2:8301   failed   client   1.22.0  2         dc1  default    <default>\n"
        "odd       [fe80::1]:8301  unknown  unknown" + " " * 36
    )


def test_detailed_table_lists_sorted_tags() -> None:
    members = prepare_members(MEMBERS[:1], "_all", ".*")
    assert format_members(members, detailed=True) == (
        "Node   Address        Status  Tags\n"
        "node1  10.0.0.1:8301  alive   "
        "ap=default,build=1.22.0:9b1e5c3a,dc=dc1,port=8300,role=consul,segment=<all>,vsn=2"
    )


def test_status_filter_is_a_regular_expression() -> None:
    assert [m["Name"] for m in prepare_members(MEMBERS, "_all", "alive|failed")] == ["node1", "client1"]
    assert prepare_members(MEMBERS, "_all", "^leaving$") == []


def test_missing_build_and_named_segment() -> None:
    member = {
        "Name": "n",
        "Addr": "10.0.0.9",
        "Port": 1,
        "Status": 1,
        "Tags": {"role": "node", "segment": "alpha"},
    }
    row = format_members(prepare_members([member], "_all", ".*")).splitlines()[1]
    assert row.split() == ["n", "10.0.0.9:1", "alive", "client", "<", "0.3", "default", "alpha"]


@pytest.mark.parametrize(
    ("ip", "port", "text"),
    [("10.0.0.1", 8301, "10.0.0.1:8301"), ("::1", 8301, "[::1]:8301"), ("::ffff:10.0.0.1", 1, "10.0.0.1:1"),
     ("", 8301, ":8301"), ("bogus", 2, ":2")],
)  # fmt: skip
def test_tcp_address_like_go(ip: str, port: int, text: str) -> None:
    assert tcp_address(ip, port) == text


def test_bad_status_regexp(cli: Runner) -> None:
    result = cli("members", "-status=(", "-http-addr=127.0.0.1:1")
    assert result.code == 1
    assert result.err.startswith("Failed to compile status regexp:")


def test_unreachable_agent(cli: Runner) -> None:
    result = cli("members", "-http-addr=127.0.0.1:1")
    assert result.code == 1
    assert result.err == (
        'Error retrieving members: Get "http://127.0.0.1:1/v1/agent/members": '
        "dial tcp 127.0.0.1:1: connect: connection refused\n"
    )
