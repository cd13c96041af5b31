"""Where a stack keeps its Terraform state.

With S3 props: the S3 backend, one object per stack, encrypted, locked by an S3 lock file next
to it (`use_lockfile`, Terraform 1.10+; no DynamoDB table). Without: a local state file per
stack in the project directory, outside cdktf.out so that a new synthesis never deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import LocalBackend, S3Backend, TerraformStack


@dataclass(frozen=True, kw_only=True)
class S3StateProps:
    bucket: str
    key: str
    """The stack's state object."""
    region: str
    kms_key_id: str | None
    """Encrypt the state with this KMS key; None: the bucket's default encryption."""


def configure_backend(stack: TerraformStack, stack_name: str, s3: S3StateProps | None) -> None:
    if s3 is None:
        # Terraform runs in cdktf.out/stacks/<stack>/; three levels up is the project directory.
        LocalBackend(stack, path=f"../../../terraform.{stack_name}.tfstate")
        return
    S3Backend(
        stack,
        bucket=s3.bucket,
        key=s3.key,
        region=s3.region,
        encrypt=True,
        kms_key_id=s3.kms_key_id,
    )
    # cdktf 0.21's S3Backend predates S3-native locking.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
