"""Where each stack keeps its Terraform state.

With a `[state]` section: the S3 backend, one object per stack (`<prefix>/<stack>.tfstate`),
encrypted, locked by an S3 lock file next to it (`use_lockfile`, Terraform 1.10+; no DynamoDB
table). Without one: a local state file per stack in the project directory, outside cdktf.out
so that a new synthesis never deletes it.
"""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformStack

from modules.config import DeploymentConfig


def state_key(config: DeploymentConfig, stack_name: str) -> str:
    assert config.state is not None
    return f"{config.state.key_prefix or config.name}/{stack_name}.tfstate"


def configure_backend(stack: TerraformStack, config: DeploymentConfig, stack_name: str) -> None:
    if config.state is None:
        # Terraform runs in cdktf.out/stacks/<stack>/; three levels up is the project directory.
        LocalBackend(stack, path=f"../../../terraform.{stack_name}.tfstate")
        return
    S3Backend(
        stack,
        bucket=config.state.bucket,
        key=state_key(config, stack_name),
        region=config.state.region or config.region,
        encrypt=True,
        kms_key_id=config.state.kms_key_id,
    )
    # cdktf 0.21's S3Backend predates S3-native locking.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
