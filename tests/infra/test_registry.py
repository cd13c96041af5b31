"""The image registry stack (`[registry]`): its JSON, the deployment's image defaulting to it,
checkov, and an apply/destroy against moto.

ECR rules encoded here (ECR user guide, lifecycle policies): a `tagged` rule needs a tag
pattern or prefix list; rule priorities are unique; an `any` rule, if present, comes last.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from modules.cli.checkov import run_checkov
from modules.config import DeploymentConfig, RegistryConfig, validate
from tests.harness.moto import MotoServer
from tests.harness.terraform import Terraform
from tests.infra.conftest import KMS_KEY, example
from tests.infra.synthesized import Stack
from tests.infra.test_config import IMAGE, single_problem

REPOSITORY = "hypernym/hypernym-api"
ACCOUNT = "${data.aws_caller_identity.caller.account_id}"
MOTO_LACKS = "aws_ecr_replication_configuration"
"""moto 5.2.5 stores a replication configuration but DescribeRegistry does not return it, so
the provider reports it vanished after creation: it is planned (and checked), not applied."""


def with_registry(registry: RegistryConfig) -> DeploymentConfig:
    """ecs-managed running release 1.4.2 from its own registry."""
    base = example("ecs-managed")
    config = dataclasses.replace(
        base,
        registry=registry,
        service=dataclasses.replace(base.service, image=None, image_tag="1.4.2"),
    )
    assert validate(config) == []
    return config


@pytest.fixture(scope="module")
def replicated(synth_config: Callable[..., Path]) -> Path:
    return synth_config(with_registry(RegistryConfig(replication_regions=("eu-central-1",))), "reg")


@pytest.fixture(scope="module")
def registry(replicated: Path) -> Stack:
    return Stack.load(replicated, "hypernym-registry")


@pytest.fixture(scope="module")
def own_key(synth_config: Callable[..., Path]) -> Stack:
    out = synth_config(with_registry(RegistryConfig(kms_key_arn=KMS_KEY)), "reg-own-key")
    return Stack.load(out, "hypernym-registry")


def test_tags_are_immutable_pushes_scanned_and_images_encrypted_with_a_rotating_key(
    registry: Stack,
) -> None:
    repository = registry.one("aws_ecr_repository")
    assert repository["name"] == REPOSITORY
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == {"scan_on_push": True}
    assert repository["encryption_configuration"] == [
        {"encryption_type": "KMS", "kms_key": registry.ref("aws_kms_key", "", "arn")}
    ]
    assert repository["force_delete"] is False, "releases outlive a careless destroy"
    assert registry.one("aws_kms_key")["enable_key_rotation"] is True


def test_a_configured_key_replaces_the_stack_s_own(own_key: Stack) -> None:
    assert own_key.resources("aws_kms_key") == {}
    (encryption,) = own_key.one("aws_ecr_repository")["encryption_configuration"]
    assert encryption == {"encryption_type": "KMS", "kms_key": KMS_KEY}
    assert own_key.resources("aws_ecr_replication_configuration") == {}


def test_lifecycle_expires_untagged_images_and_keeps_the_newest_releases(registry: Stack) -> None:
    rules = json.loads(registry.one("aws_ecr_lifecycle_policy")["policy"])["rules"]
    priorities = [rule["rulePriority"] for rule in rules]
    assert priorities == sorted(set(priorities))
    untagged, tagged = rules
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 1,
    }
    assert tagged["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["*"],
        "countType": "imageCountMoreThan",
        "countNumber": 20,
    }
    assert all(rule["action"] == {"type": "expire"} for rule in rules)
    assert all(rule["selection"]["tagStatus"] != "any" for rule in rules)


def test_replication_copies_only_this_repository_to_the_configured_regions(
    registry: Stack,
) -> None:
    configuration = registry.one("aws_ecr_replication_configuration")
    (rule,) = configuration["replication_configuration"]["rule"]
    assert rule["destination"] == [{"region": "eu-central-1", "registry_id": ACCOUNT}]
    assert rule["repository_filter"] == [{"filter": REPOSITORY, "filter_type": "PREFIX_MATCH"}]


def test_the_deployment_runs_the_release_from_its_registry(replicated: Path) -> None:
    ecs = Stack.load(replicated, "hypernym-ecs")
    repository_uri = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{REPOSITORY}"
    assert ecs.container()["image"] == f"{repository_uri}:1.4.2"
    (pull,) = [s for s in ecs.role_policies("execution") if "ecr:BatchGetImage" in s["Action"]]
    assert pull["Resource"] == (
        f"arn:${{data.aws_partition.partition.partition}}:ecr:eu-west-1:{ACCOUNT}:"
        f"repository/{REPOSITORY}"
    )
    manifest = json.loads((replicated / "manifest.json").read_text())
    assert manifest["stacks"]["hypernym-ecs"]["dependencies"] == ["hypernym-registry"]


@pytest.mark.parametrize(
    ("service", "registry", "problem"),
    [
        ({"image_tag": "1.4.2"}, None, "`service.image` is required, unless a `[registry]`"),
        ({"image": IMAGE, "image_tag": "1"}, {}, "are both set; keep one"),
        ({"image_tag": "latest"}, {}, "`service.image_tag` = 'latest'"),
        ({"image_tag": "1.4.2"}, {"replication_regions": ["eu-west-1"]}, "own region"),
        ({"image_tag": "1.4.2"}, {"repository": "Hypernym"}, "not an ECR repository name"),
        ({"image_tag": "1.4.2"}, {"keep_releases": 0}, "`registry.keep_releases` must be"),
    ],
)
def test_registry_configuration_problems_are_named(
    service: dict, registry: dict | None, problem: str
) -> None:
    changes: dict = {"service": {"image": None, **service}}
    if registry is not None:
        changes["registry"] = registry
    assert problem in single_problem(**changes)


def test_checkov_passes_the_registry_stack(registry: Stack) -> None:
    results = run_checkov(registry.directory / "cdk.tf.json", "terraform_json")
    assert sum(r.passed for r in results) > 0
    failures = [f for r in results for f in r.failures]
    assert failures == []


@pytest.mark.terraform
@pytest.mark.slow
@pytest.mark.xdist_group("apply-registry")
def test_the_registry_applies_and_destroys_against_moto(
    registry: Stack, moto_server: MotoServer, tmp_path: Path
) -> None:
    moto_server.reset()
    workdir = shutil.copytree(
        registry.directory, tmp_path / "cdktf.out" / "stacks" / registry.directory.name
    )
    terraform = Terraform(workdir, moto=moto_server)
    terraform.init(backend=True)
    changes = terraform.plan()["resource_changes"]
    (replication,) = [c for c in changes if c["type"] == MOTO_LACKS]
    (rule,) = replication["change"]["after"]["replication_configuration"][0]["rule"]
    assert [d["region"] for d in rule["destination"]] == ["eu-central-1"]
    targets = [f"-target={c['address']}" for c in changes if c["type"] != MOTO_LACKS]
    try:
        terraform.apply(*targets)
        ecr = moto_server.client("ecr")
        (repository,) = ecr.describe_repositories()["repositories"]
        assert repository["repositoryName"] == REPOSITORY
        assert repository["imageTagMutability"] == "IMMUTABLE"
        assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
        assert repository["encryptionConfiguration"]["encryptionType"] == "KMS"
        policy = json.loads(
            ecr.get_lifecycle_policy(repositoryName=REPOSITORY)["lifecyclePolicyText"]
        )
        assert [r["selection"]["tagStatus"] for r in policy["rules"]] == ["untagged", "tagged"]
        outputs = terraform.output()
        assert outputs["repository_url"]["value"] == repository["repositoryUri"]
    finally:
        terraform.destroy("-refresh=false")  # the state is what the apply wrote, nothing since
    assert moto_server.client("ecr").describe_repositories()["repositories"] == []
