import json

from proconsul import CONSUL_COMPAT_VERSION, __version__

from .conftest import Runner


def test_pretty(cli: Runner) -> None:
    result = cli("version")
    assert result.code == 0
    assert result.out.splitlines() == [
        f"Proconsul v{__version__}",
        f"Consul API compatibility: v{CONSUL_COMPAT_VERSION}",
        "Protocol 2 spoken by default, understands 2 to 3 "
        "(agent will automatically use protocol >2 when speaking to compatible agents)",
        "",
    ]


def test_json(cli: Runner) -> None:
    info = json.loads(cli("version", "-format=json").out)
    assert info["Version"] == CONSUL_COMPAT_VERSION
    assert info["ProconsulVersion"] == __version__
    assert info["RPC"] == {"Default": 2, "Min": 2, "Max": 3}


def test_unknown_format(cli: Runner) -> None:
    result = cli("version", "-format=xml")
    assert (result.code, result.err) == (1, "Unknown format: xml\n")


def test_version_flags(cli: Runner) -> None:
    for flag in ("-v", "-version", "--version"):
        assert cli(flag).out.startswith(f"Proconsul v{__version__}\n")
