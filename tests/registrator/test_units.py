"""The registrator's I/O-free parts: event parsing, the CLI's checks, per-container ordering."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable

import pytest

from proconsul.cli.main import main
from proconsul.cli.registrator import split_tags
from proconsul.registrator.bridge import _Serial
from proconsul.registrator.docker import Event, docker_host, parse_event
from proconsul.registrator.registries import ConsulKVRegistry, ConsulRegistry, EtcdRegistry, open_registry


@pytest.mark.parametrize(
    ("raw", "event"),
    [
        ({"Type": "container", "Action": "start", "Actor": {"ID": "abc", "Attributes": {"name": "x"}}},
         Event("start", "abc", {"name": "x"})),
        ({"status": "die", "id": "def"}, Event("die", "def", {})),  # legacy fields only
        ({"Type": "container", "Action": "health_status: healthy", "Actor": {"ID": "a"}},
         Event("health_status: healthy", "a", {})),
        ({"Type": "network", "Action": "connect", "Actor": {"ID": "n"}}, None),
        ({"Type": "container", "Action": "start", "Actor": {}}, None),
    ],
)  # fmt: skip
def test_parse_event(raw: dict[str, object], event: Event | None) -> None:
    assert parse_event(raw) == event


@pytest.mark.parametrize(
    ("text", "tags"),
    [("", ()), ("a,b", ("a", "b")), ("web1,Debian GNU/Linux 12", ("web1", "Debian GNU/Linux 12")),
     ("a\\,b,c", ("a,b", "c")), (" a , ,b ", ("a", "b"))],
)  # fmt: skip
def test_split_tags(text: str, tags: tuple[str, ...]) -> None:
    assert split_tags(text) == tags


def test_docker_host_order() -> None:
    assert docker_host({"DOCKER_HOST": "tcp://h:2375"}) == "tcp://h:2375"
    assert docker_host({}, exists=lambda p: p == "/tmp/docker.sock") == "unix:///tmp/docker.sock"
    assert docker_host({}, exists=lambda p: True) == "unix:///var/run/docker.sock"


@pytest.mark.parametrize(
    ("uri", "kind"),
    [("consul://127.0.0.1:8500", ConsulRegistry), ("consul-tls://h:8501", ConsulRegistry),
     ("consul-unix:///tmp/c.sock", ConsulRegistry), ("consulkv://h:8500/services", ConsulKVRegistry),
     ("etcd://h:2379/services", EtcdRegistry)],
)  # fmt: skip
async def test_open_registry(uri: str, kind: type) -> None:
    registry = open_registry(uri, {})
    assert isinstance(registry, kind)
    await registry.close()


def _run(*argv: str) -> tuple[int, str]:
    err = io.BytesIO()
    code = main(["registrator", *argv], environ={}, stdout=io.BytesIO(), stderr=err)
    return code, err.getvalue().decode()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        ((), 2, "Missing required argument for registry URI."),
        (("consul://x", "-ip=1.2.3.4"), 2, "Extra unparsed arguments:"),
        (("-ttl=10", "consul://x"), 1, "-ttl and -ttl-refresh must be specified together or not at all"),
        (("-ttl=10", "-ttl-refresh=10", "consul://x"), 1, "-ttl must be greater than -ttl-refresh"),
        (("-retry-interval=0", "consul://x"), 1, "-retry-interval must be greater than 0"),
        (("--deregister=never", "consul://x"), 1, '-deregister must be "always" or "on-success"'),
        (("-retry-interval=1", "bogus://x"), 1, "unrecognized adapter: bogus://x"),
    ],
)
def test_cli_validation(argv: tuple[str, ...], code: int, message: str) -> None:
    got, err = _run(*argv)
    assert (got, message in err) == (code, True), err


def test_version_flag_prints_the_version() -> None:
    out = io.BytesIO()
    assert main(["registrator", "--version"], environ={}, stdout=out, stderr=io.BytesIO()) == 0
    assert out.getvalue().decode().startswith("proconsul registrator v")


async def test_serial_keeps_order_per_key_and_runs_keys_in_parallel() -> None:
    serial = _Serial()
    seen: list[str] = []
    gate = asyncio.Event()

    def job(name: str, wait: bool = False) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if wait:
                await gate.wait()
            seen.append(name)

        return run

    serial.submit("a", job("a-start", wait=True))
    serial.submit("a", job("a-die"))
    serial.submit("b", job("b-start"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert seen == ["b-start"]
    gate.set()
    await serial.drain()
    assert seen == ["b-start", "a-start", "a-die"]
