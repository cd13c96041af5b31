"""moto's server, with the VPC endpoint services AWS offers that moto 5.2.5's catalogue lacks,
AWS's answer to deleting a target group that is gone, and two of its per-reset costs paid once.

tests/harness/moto.py runs this file with the moto venv's Python (moto is not importable from
the project's venv, nor this package from moto's). The stacks look the Marketplace metering
endpoint service up at plan time; moto's catalogue has no `metering.marketplace` in any region,
so this adds the services named in $MOTO_ADDED_ENDPOINT_SERVICES (JSON: region -> service
suffixes) to those regions only, offered in every zone like moto's own. Every other region
keeps moto's catalogue, and stands for a region where AWS does not offer the service.

AWS's DeleteTargetGroup is idempotent (the Elastic Load Balancing API reference: "If you repeat
an operation, it succeeds"; ResourceInUse is the action's only documented error), and the AWS
provider's delete relies on it: any other error fails the destroy. Calls do come twice here:
now and then, on this loaded loopback, the client loses the answer to a call moto has made (and
logged as 200), and the SDK sends it again; the provider's debug log shows it as `retrying
request EC2/DeleteInternetGateway, attempt 2` answered NotFound, which that delete ignores.
moto 5.2.5 answers a repeated DeleteTargetGroup with TargetGroupNotFound, which failed one CI
run's `cdktf destroy`. Here, as on AWS, deleting a target group that is gone succeeds.

The costs: moto builds the ~1,300 AWS managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES, which
the stacks' policy attachments need) into every IAM backend it makes, one per partition, again
after every reset, each time parsing their whole JSON: a third of the server's CPU in a test
run. Here the JSON is parsed once and the policies are built in the `aws` partition only, the
one every stack and test uses. The regions of a service, which moto derives from botocore's
endpoint data for every new account backend (again after every reset), are derived once.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache

from moto.core.base_backend import AccountSpecificBackend, BaseBackend
from moto.ec2.models.vpcs import VPCBackend
from moto.elbv2.models import ELBv2Backend, FakeTargetGroup
from moto.iam import models as iam
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


_delete_target_group = ELBv2Backend.delete_target_group


def _idempotent_delete_target_group(
    self: ELBv2Backend, target_group_arn: str
) -> FakeTargetGroup | None:
    if target_group_arn not in self.target_groups:
        return None
    return _delete_target_group(self, target_group_arn)


ELBv2Backend.delete_target_group = _idempotent_delete_target_group


@cache
def _managed_policy_data() -> dict[str, dict]:
    return json.loads(iam.aws_managed_policies_data)


def _aws_partition_managed_policies(self: iam.IAMBackend) -> list[iam.ManagedPolicy]:
    if not iam.load_iam_aws_managed_policies() or self.region_name != "aws":
        return []
    return [
        iam.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
        for name, data in _managed_policy_data().items()
    ]


iam.IAMBackend._init_aws_policies = _aws_partition_managed_policies

_derive_regions = AccountSpecificBackend._generate_regions.__wrapped__  # moto's, uncached


@cache
def _regions_of(service_name: str) -> list[str]:
    return _derive_regions(None, service_name)


AccountSpecificBackend._generate_regions = lambda _self, service_name: _regions_of(service_name)

if __name__ == "__main__":
    sys.exit(main())
