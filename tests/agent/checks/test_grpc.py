"""gRPC checks against a real grpcio server running the standard health servicer, with and without TLS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tests.conftest import free_port

from proconsul.agent.checks.base import ProbeContext
from proconsul.agent.checks.grpc import grpc_probe, request_message, serving_status
from proconsul.agent.checks.net import client_tls
from proconsul.agent.definitions import check_from_body

from .conftest import AgentFactory, Certificate, status_is, wait_for_check

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class HealthServer:
    address: str
    servicer: health.aio.HealthServicer

    async def set(self, service: str, status: int) -> None:
        await self.servicer.set(service, status)


async def _serve(certificate: Certificate | None) -> AsyncIterator[HealthServer]:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    address = f"127.0.0.1:{free_port()}"
    if certificate is None:
        server.add_insecure_port(address)
    else:
        pair = (certificate.key.read_bytes(), certificate.cert.read_bytes())
        server.add_secure_port(address, grpc.ssl_server_credentials([pair]))
    await server.start()
    await servicer.set("", SERVING)
    try:
        yield HealthServer(address, servicer)
    finally:
        await server.stop(None)


@pytest.fixture
async def plain() -> AsyncIterator[HealthServer]:
    async for server in _serve(None):
        yield server


@pytest.fixture
async def secure(certificate: Certificate) -> AsyncIterator[HealthServer]:
    async for server in _serve(certificate):
        yield server


def test_messages_round_trip_through_the_official_protos() -> None:
    raw = request_message("my.Service")
    assert raw[0] == 0 and int.from_bytes(raw[1:5], "big") == len(raw) - 5
    assert health_pb2.HealthCheckRequest.FromString(raw[5:]).service == "my.Service"
    for status in (0, 1, 2, 3):
        body = health_pb2.HealthCheckResponse(status=status).SerializeToString()
        assert serving_status(b"\x00" + len(body).to_bytes(4, "big") + body) == status


async def test_serving_is_passing(plain: HealthServer, probe_ctx: Callable[..., ProbeContext]) -> None:
    result = await grpc_probe({"GRPC": plain.address}, probe_ctx())
    assert (result.status, result.output) == ("passing", f"gRPC check {plain.address}: success")


async def test_a_named_service_that_is_not_serving_is_critical(
    plain: HealthServer, probe_ctx: Callable[..., ProbeContext]
) -> None:
    await plain.set("billing", NOT_SERVING)
    target = f"{plain.address}/billing"
    result = await grpc_probe({"GRPC": target}, probe_ctx())
    assert (result.status, result.output) == ("critical", f"gRPC {target} serving status: NOT_SERVING")
    await plain.set("billing", SERVING)
    assert (await grpc_probe({"GRPC": target}, probe_ctx())).status == "passing"


async def test_an_unknown_service_is_critical(
    plain: HealthServer, probe_ctx: Callable[..., ProbeContext]
) -> None:
    result = await grpc_probe({"GRPC": f"{plain.address}/nobody"}, probe_ctx())
    assert result.status == "critical"
    assert result.output.startswith("rpc error: code = NotFound desc = ")


async def test_nothing_listening_is_critical(probe_ctx: Callable[..., ProbeContext]) -> None:
    address = f"127.0.0.1:{free_port()}"
    result = await grpc_probe({"GRPC": address}, probe_ctx())
    assert result.status == "critical"
    assert result.output == (
        "rpc error: code = Unavailable desc = connection error: desc = "
        f'"transport: Error while dialing: dial tcp {address}: connect: connection refused"'
    )


async def test_tls_with_skip_verify(secure: HealthServer, probe_ctx: Callable[..., ProbeContext]) -> None:
    verified = await grpc_probe({"GRPC": secure.address, "GRPCUseTLS": True}, probe_ctx())
    assert verified.status == "critical"
    assert "certificate" in verified.output
    skipped = await grpc_probe(
        {"GRPC": secure.address, "GRPCUseTLS": True, "TLSSkipVerify": True}, probe_ctx()
    )
    assert (skipped.status, skipped.output) == ("passing", f"gRPC check {secure.address}: success")


async def test_tls_verifies_the_server_name(
    secure: HealthServer,
    probe_ctx: Callable[..., ProbeContext],
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    client_tls.cache_clear()
    try:
        check = {"GRPC": secure.address, "GRPCUseTLS": True}
        assert (await grpc_probe({**check, "TLSServerName": "localhost"}, probe_ctx())).status == "passing"
        wrong = await grpc_probe({**check, "TLSServerName": "db.example"}, probe_ctx())
        assert wrong.status == "critical"
    finally:
        client_tls.cache_clear()


async def test_plaintext_against_a_tls_server_is_critical(
    secure: HealthServer, probe_ctx: Callable[..., ProbeContext]
) -> None:
    result = await grpc_probe({"GRPC": secure.address}, probe_ctx(timeout=1))
    assert result.status == "critical"


async def test_the_agent_follows_the_serving_status(plain: HealthServer, make_agent: AgentFactory) -> None:
    async with make_agent() as ctx:
        await ctx.local.add_check(
            check_from_body({"Name": "g", "GRPC": f"{plain.address}/api", "Interval": "50ms"})
        )
        await wait_for_check(ctx, "g", status_is("critical"))
        for status, expected in [(SERVING, "passing"), (NOT_SERVING, "critical"), (SERVING, "passing")]:
            await plain.set("api", status)
            await wait_for_check(ctx, "g", status_is(expected))
