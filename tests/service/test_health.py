"""Liveness, readiness and the served OpenAPI schema, over real HTTP."""

from __future__ import annotations

from service import __version__
from tests.service.runner import ServiceProcess


def test_health_reports_version_and_environment(service: ServiceProcess) -> None:
    reply = service.request("GET", "/health")
    assert reply.status == 200
    assert reply.json() == {"status": "healthy", "version": __version__, "environment": "test"}


def test_ready_once_config_and_provider_client_are_up(service: ServiceProcess) -> None:
    reply = service.request("GET", "/ready")
    assert reply.status == 200
    assert reply.json() == {"status": "ready"}


def test_openapi_schema_describes_the_analysis_endpoints(service: ServiceProcess) -> None:
    reply = service.request("GET", "/schema/openapi.json")
    assert reply.status == 200
    paths = reply.json()["paths"]
    assert {"/analyze_sync", "/health", "/ready", "/user/rate-limits"} <= set(paths)
    assert "requestBody" in paths["/analyze_sync"]["post"]
    assert service.request("GET", "/schema/swagger").status == 404  # no UI pages, the schema only


def test_unknown_route_gets_404_with_detail(service: ServiceProcess) -> None:
    reply = service.request("GET", "/nope")
    assert reply.status == 404
    assert set(reply.json()) == {"detail"}
