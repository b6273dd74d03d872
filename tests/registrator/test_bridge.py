"""End to end: a real Docker engine, a real agent, a real `proconsul registrator` process.

Every wait is a blocking query on /v1/catalog/service/<name>; nothing sleeps for a fixed time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from proconsul.client import ConsulClient

from .conftest import Engine, Registrator, count, unique, wait_service

pytestmark = pytest.mark.integration
HOST = socket.gethostname()


def run(engine: Engine, *args: str, name: str = "") -> str:
    """`docker run -d` of the test image; returns the container name."""
    name = name or unique(engine.container)
    engine.cli("run", "-d", f"--name={name}", *args, f"{engine.container}:1")
    return name


async def test_published_port_registered_then_removed_on_kill(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.1.2.3")
    svc = unique("web")
    name = run(
        engine,
        "-p",
        "18080:80",
        "-e",
        f"SERVICE_NAME={svc}",
        "-e",
        "SERVICE_TAGS=a,b",
        "-e",
        "SERVICE_OWNER=med",
    )
    [entry] = await wait_service(consul, svc, count(1))
    assert (entry["ServiceAddress"], entry["ServicePort"]) == ("10.1.2.3", 18080)
    assert entry["ServiceID"] == f"{HOST}:{name}:80"
    assert sorted(entry["ServiceTags"]) == ["a", "b"]
    assert entry["ServiceMeta"] == {"owner": "med"}
    engine.cli("kill", "-s", "KILL", name)
    await wait_service(consul, svc, count(0))


async def test_publish_all_multiple_ports_udp_and_per_port_names(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.9")
    http, https, dns = unique("app-http"), unique("app-https"), unique("dns")
    run(
        engine, "--expose=80", "--expose=443", "-P", "-p", "15353:53/udp",
        "-e", f"SERVICE_80_NAME={http}", "-e", f"SERVICE_443_NAME={https}", "-e", f"SERVICE_53_NAME={dns}",
    )  # fmt: skip
    [web] = await wait_service(consul, http, count(1))
    [tls] = await wait_service(consul, https, count(1))
    [udp] = await wait_service(consul, dns, count(1))
    assert web["ServicePort"] > 0 and tls["ServicePort"] > 0 and web["ServicePort"] != tls["ServicePort"]
    assert (udp["ServicePort"], udp["ServiceID"].endswith(":53:udp"), "udp" in udp["ServiceTags"]) == (
        15353,
        True,
        True,
    )


async def test_labels_override_env_and_default_name_is_the_image(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.1")
    svc = unique("labelled")
    run(engine, "-p", "18081:80", "-e", "SERVICE_NAME=from-env", "--label", f"SERVICE_NAME={svc}")
    await wait_service(consul, svc, count(1))
    entries = (await consul.get("/v1/catalog/service/from-env")).json()
    assert entries == []


async def test_host_network_registers_exposed_ports(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.2")
    svc = unique("hostnet")
    run(engine, "--net=host", "--expose=18082", "-e", f"SERVICE_NAME={svc}")
    [entry] = await wait_service(consul, svc, count(1))
    assert (entry["ServiceAddress"], entry["ServicePort"]) == ("10.0.0.2", 18082)


async def test_user_network_internal_uses_the_container_ip(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    network = unique(engine.container + "-net")
    engine.cli("network", "create", network)
    try:
        registrator("-internal")
        svc = unique("internal")
        name = run(engine, f"--network={network}", "--expose=6379", "-e", f"SERVICE_NAME={svc}")
        [entry] = await wait_service(consul, svc, count(1))
        ip = engine.cli(
            "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}', name
        )
        assert (entry["ServiceAddress"], entry["ServicePort"]) == (ip, 6379)
        engine.cli("rm", "-f", name)
        await wait_service(consul, svc, count(0))
    finally:
        engine.cli("network", "rm", network)


async def test_explicit_skips_containers_without_a_name(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-explicit", "-ip=10.0.0.3")
    anonymous = run(engine, "-p", "18083:80")
    named = unique("explicit")
    run(engine, "-p", "18084:80", "-e", f"SERVICE_NAME={named}")
    await wait_service(consul, named, count(1))
    services = (await consul.get("/v1/agent/services")).json()
    assert not any(anonymous in sid for sid in services)


async def test_startup_sync_and_cleanup_after_a_crash(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    svc = unique("sync")
    before = run(engine, "-p", "18085:80", "-e", f"SERVICE_NAME={svc}")
    first = registrator("-ip=10.0.0.4")
    await wait_service(consul, svc, count(1))  # registered by the startup sync
    first.kill()
    engine.cli("rm", "-f", before)  # behind its back
    registrator("-ip=10.0.0.4", "-cleanup")
    await wait_service(consul, svc, count(0))


async def test_restart_keeps_the_service(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.5")
    svc = unique("restart")
    name = run(engine, "-p", "18086:80", "-e", f"SERVICE_NAME={svc}")
    [entry] = await wait_service(consul, svc, count(1))
    engine.cli("restart", "-t", "0", name)
    # die then start, applied in order: gone, then back again
    index = (await consul.get(f"/v1/catalog/service/{svc}")).index
    await wait_service(consul, svc, lambda e: len(e) == 1 and e[0]["ModifyIndex"] > entry["ModifyIndex"])
    assert index is not None


async def test_a_hundred_containers_at_once(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.6")
    svc = unique("many")
    names = [unique(engine.container) for _ in range(100)]

    def start(name: str) -> str:
        return run(engine, "--expose=80", "-P", "-e", f"SERVICE_NAME={svc}", name=name)

    await asyncio.gather(*(asyncio.to_thread(start, name) for name in names))
    await wait_service(consul, svc, count(100), within=60)
    await asyncio.to_thread(engine.cli, "rm", "-f", *names)
    await wait_service(consul, svc, count(0), within=60)


async def test_deregister_on_success_keeps_failed_containers(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.7", "-deregister=on-success")
    failed, succeeded = unique("fails"), unique("succeeds")
    gate = "while [ ! -e /go ]; do sleep 0.1; done; exit $CODE"
    bad = engine.cli("run", "-d", "-p", "18087:80", "-e", f"SERVICE_NAME={failed}", "-e", "CODE=3",
                     f"{engine.container}:1", "sh", "-c", gate)  # fmt: skip
    good = engine.cli("run", "-d", "-p", "18088:80", "-e", f"SERVICE_NAME={succeeded}", "-e", "CODE=0",
                      f"{engine.container}:1", "sh", "-c", gate)  # fmt: skip
    await wait_service(consul, failed, count(1))
    await wait_service(consul, succeeded, count(1))
    engine.cli("exec", bad, "sh", "-c", ": > /go")
    engine.cli("exec", good, "sh", "-c", ": > /go")
    await wait_service(consul, succeeded, count(0))
    assert engine.cli("wait", bad) == "3"
    # the failed one stays, so its health check can report it; a later event proves the die was handled
    marker = unique("marker")
    run(engine, "-p", "18089:80", "-e", f"SERVICE_NAME={marker}")
    await wait_service(consul, marker, count(1))
    assert len((await consul.get(f"/v1/catalog/service/{failed}")).json()) == 1


async def test_resync_restores_what_the_agent_lost(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.8", "-resync=1")
    svc = unique("resync")
    name = run(engine, "-p", "18090:80", "-e", f"SERVICE_NAME={svc}")
    await wait_service(consul, svc, count(1))
    await consul.put(f"/v1/agent/service/deregister/{HOST}:{name}:80")
    await wait_service(consul, svc, count(0))
    await wait_service(consul, svc, count(1))


async def test_docker_healthcheck_drives_a_ttl_check(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.10")
    svc = unique("healthy")
    run(engine, "-p", "18091:80", "-e", f"SERVICE_NAME={svc}", "--health-cmd=true", "--health-interval=1s")
    index: int | None = None
    async with asyncio.timeout(30):
        while True:
            response = await consul.get(f"/v1/health/service/{svc}", {"passing": True}, index=index, wait=30)
            if response.json():
                break
            index = response.index


async def test_a_signal_that_does_not_stop_the_container_keeps_it(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-ip=10.0.0.11")
    svc, marker = unique("hup"), unique("marker")
    name = run(engine, "-p", "18092:80", "-e", f"SERVICE_NAME={svc}")
    await wait_service(consul, svc, count(1))
    engine.cli("kill", "-s", "HUP", name)  # a `kill` event; PID 1 ignores it and keeps running
    engine.cli("kill", "-s", "HUP", name)
    run(engine, "-p", "18093:80", "-e", f"SERVICE_NAME={marker}")
    await wait_service(consul, marker, count(1))
    assert len((await consul.get(f"/v1/catalog/service/{svc}")).json()) == 1


async def test_seed_command_line_with_tags_and_double_dash_flags(
    engine: Engine, registrator: Callable[..., Registrator], consul: ConsulClient
) -> None:
    registrator("-tags=web1,Debian GNU/Linux 12 \\n \\l", "--deregister=always", "-ip=10.0.0.12")
    svc = unique("redis1")
    run(engine, "-P", "--expose=6379", "-e", f"SERVICE_NAME={svc}", "-e", "SERVICE_TAGS=master,session")
    [entry] = await wait_service(consul, svc, count(1))
    assert sorted(entry["ServiceTags"]) == ["Debian GNU/Linux 12 \\n \\l", "master", "session", "web1"]
