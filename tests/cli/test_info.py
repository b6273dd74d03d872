import pytest

from proconsul.cli.info import format_info


def test_sections_and_keys_sorted() -> None:
    stats = {
        "raft": {"state": "Leader", "applied_index": "10"},
        "agent": {"services": "1", "checks": "0"},
        "consul": {"leader": "true", "bootstrap": "false", "known_datacenters": 1},
    }
    assert format_info(stats) == [
        "agent:",
        "\tchecks = 0",
        "\tservices = 1",
        "consul:",
        "\tbootstrap = false",
        "\tknown_datacenters = 1",
        "\tleader = true",
        "raft:",
        "\tapplied_index = 10",
        "\tstate = Leader",
    ]


def test_section_that_is_not_an_object() -> None:
    with pytest.raises(ValueError, match="Got invalid subkey in stats"):
        format_info({"agent": "oops"})
