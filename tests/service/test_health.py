"""Liveness, readiness and the served OpenAPI schema, over real HTTP."""

from __future__ import annotations

from service import __version__
from tests.fakes import captures
from tests.fakes.fake_provider import FakeProvider
from tests.service.conftest import STANDARD_KEY
from tests.service.runner import ServiceProcess

ANALYSIS = {"essay_text": captures.ESSAY_TEXT}
HEADERS = {"X-API-Key": STANDARD_KEY}


def test_health_reports_version_and_environment(service: ServiceProcess) -> None:
    reply = service.request("GET", "/health")
    assert reply.status == 200
    assert reply.json() == {"status": "healthy", "version": __version__, "environment": "test"}


def test_ready_once_config_and_provider_client_are_up(service: ServiceProcess) -> None:
    reply = service.request("GET", "/ready")
    assert reply.status == 200
    assert reply.json() == {"status": "ready"}


def test_ready_never_depends_on_the_provider(service: ServiceProcess, fake: FakeProvider) -> None:
    # GIVEN a provider that fails every call (the load balancer checks /ready) ...
    fake.inject("server_error")
    assert service.request("POST", "/analyze_sync", ANALYSIS, headers=HEADERS).status == 502
    # ... THEN the service stays ready: a provider outage must not empty the target group.
    reply = service.request("GET", "/ready")
    assert (reply.status, reply.json()) == (200, {"status": "ready"})
    assert fake.calls["chat"] == 2  # the analysis' two attempts; /ready made no call


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
