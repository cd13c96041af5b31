"""moto's server, with the VPC endpoint services AWS offers that moto 5.2.5's catalogue lacks.

tests/harness/moto.py runs this file with the moto venv's Python (moto is not importable from
the project's venv, nor this package from moto's). The stacks look the Marketplace metering
endpoint service up at plan time; moto's catalogue has no `metering.marketplace` in any region,
so this adds the services named in $MOTO_ADDED_ENDPOINT_SERVICES (JSON: region -> service
suffixes) to those regions only, offered in every zone like moto's own. Every other region
keeps moto's catalogue, and stands for a region where AWS does not offer the service.
"""

from __future__ import annotations

import json
import os
import sys

from moto.core.base_backend import BaseBackend
from moto.ec2.models.vpcs import VPCBackend
from moto.server import main

ADDED: dict[str, list[str]] = json.loads(os.environ.get("MOTO_ADDED_ENDPOINT_SERVICES", "{}"))
_catalogue = VPCBackend._collect_default_endpoint_services


def _with_added_services(account_id: str, region: str) -> list[dict]:
    services = _catalogue(account_id, region)  # moto's cached list for the region
    names = {service["ServiceName"] for service in services}
    zones = services[0]["AvailabilityZones"] if services else []
    for suffix in ADDED.get(region, []):
        if f"com.amazonaws.{region}.{suffix}" not in names:
            services.extend(BaseBackend.default_vpc_endpoint_service_factory(region, zones, suffix))
    return services


VPCBackend._collect_default_endpoint_services = staticmethod(_with_added_services)

if __name__ == "__main__":
    sys.exit(main())
