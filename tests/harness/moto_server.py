"""moto's server, with the VPC endpoint services AWS offers that moto 5.2.5's catalogue lacks,
a call's retry answered without making the call twice, and two of its per-reset costs paid once.

tests/harness/moto.py runs this file with the moto venv's Python (moto is not importable from
the project's venv, nor this package from moto's). The stacks look the Marketplace metering
endpoint service up at plan time; moto's catalogue has no `metering.marketplace` in any region,
so this adds the services named in $MOTO_ADDED_ENDPOINT_SERVICES (JSON: region -> service
suffixes) to those regions only, offered in every zone like moto's own. Every other region
keeps moto's catalogue, and stands for a region where AWS does not offer the service.

Now and then, on this loaded loopback, the SDK gets no answer to a call moto has made (and
logged), and sends it again: the provider's debug log shows `retrying request
EC2/DeleteInternetGateway, attempt 2` answered NotFound, which that delete forgives. One CI
run's `cdktf destroy` failed on such a repeat: AWS's DeleteTargetGroup is idempotent (the
Elastic Load Balancing API reference: "If you repeat an operation, it succeeds") and the
provider's delete fails on anything but ResourceInUse, but moto made the call twice and answered
the second TargetGroupNotFound. AWS loses no answers on a loopback, so a repeat is not made
twice here: the SDKs send the same amz-sdk-invocation-id with every attempt of a call, and an
attempt after the first of a call moto answered (below 500: a 5xx is worth trying again) gets
that answer again (the server's log says so). Why the answers are lost is not established.

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
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from moto.core.base_backend import AccountSpecificBackend, BaseBackend
from moto.ec2.models.vpcs import VPCBackend
from moto.iam import models as iam
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
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


Answer = tuple[str, list[tuple[str, str]], bytes]
_answers: OrderedDict[str, Answer] = OrderedDict()  # invocation id -> moto's answer to it
_answers_lock = threading.Lock()
_ANSWERS_KEPT = 256  # a retry follows its attempt within a second; a few calls run at once
_dispatch = DomainDispatcherApplication.__call__


def _answer_once(
    self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Callable
) -> Iterable[bytes]:
    invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
    if invocation is None:
        return _dispatch(self, environ, start_response)
    attempt = environ.get("HTTP_AMZ_SDK_REQUEST", "")
    if not attempt.startswith("attempt=1;"):
        with _answers_lock:
            answered = _answers.get(invocation)
        if answered is not None:
            status, headers, body = answered
            print(f"moto_server: {attempt} of call {invocation} answered as before", flush=True)
            start_response(status, headers)
            return [body]
    answer: list[tuple[str, list[tuple[str, str]]]] = []

    def keeping(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer.append((status, headers))
        return start_response(status, headers, exc_info)

    chunks = _dispatch(self, environ, keeping)
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    status, headers = answer[-1]
    if int(status.split(" ", 1)[0]) < 500:
        with _answers_lock:
            _answers[invocation] = (status, headers, body)
            if len(_answers) > _ANSWERS_KEPT:
                _answers.popitem(last=False)
    return [body]


DomainDispatcherApplication.__call__ = _answer_once


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
