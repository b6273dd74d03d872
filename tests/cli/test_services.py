from pathlib import Path

import pytest

from proconsul.cli.services import combine, parse_service_address, services_from_files
from proconsul.errors import ConfigError

from .conftest import Runner


def test_services_from_json_and_hcl_files(tmp_path: Path) -> None:
    (tmp_path / "web.json").write_text('{"service": {"name": "web", "port": 80, "tags": ["a"]}}')
    (tmp_path / "db.hcl").write_text(
        'service {\n  name = "db"\n  port = 5432\n}\nservice { name = "cache" }\n'
    )
    found = services_from_files([str(tmp_path / "web.json"), str(tmp_path / "db.hcl")])
    assert found == [
        {"name": "web", "port": 80, "tags": ["a"]},
        {"name": "db", "port": 5432},
        {"name": "cache"},
    ]


def test_services_from_a_bad_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"servise": {}}')
    with pytest.raises(ConfigError, match="invalid config key servise"):
        services_from_files([str(tmp_path / "bad.json")])


def test_combine_fills_gaps_and_adds_tags_and_meta() -> None:
    from_file = {"name": "web", "port": 80, "tags": ["a"], "meta": {"x": "1"}}
    from_flags = {"ID": "web-1", "Name": "ignored", "Port": 8080, "Address": "10.0.0.5", "Tags": ["b"],
                  "Meta": {"y": "2"}}  # fmt: skip
    assert combine(from_file, from_flags) == {
        "name": "web", "port": 80, "tags": ["a", "b"], "meta": {"x": "1", "y": "2"},
        "ID": "web-1", "Address": "10.0.0.5", "TaggedAddresses": {},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("10.0.0.1:80", {"Address": "10.0.0.1", "Port": 80}), ("[::1]:443", {"Address": "::1", "Port": 443}),
     ("example.com", {"Address": "example.com", "Port": 0}), ("::1", {"Address": "::1", "Port": 0})],
)  # fmt: skip
def test_parse_service_address(text: str, parsed: dict[str, object]) -> None:
    assert parse_service_address(text) == parsed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["services", "register"], "Service registration requires at least one argument or flags."),
        (["services", "register", "-name=web", "web.json"],
         "Service registration requires arguments or -id, not both."),
        (["services", "register", "-name=w", "-tagged-address=lan=h:x"],
         'Invalid Tagged Address: invalid port "x"'),
        (["services", "register", "/no/such/file.json"], "Error: Error loading /no/such/file.json"),
        (["services", "deregister"], "Service deregistration requires at least one argument or -id."),
        (["services", "deregister", "-id=web", "web.json"],
         "Service deregistration requires arguments or -id, not both."),
    ],
)  # fmt: skip
def test_argument_errors(cli: Runner, argv: list[str], message: str) -> None:
    result = cli(*argv)
    assert result.code == 1
    assert result.err.startswith(message)
