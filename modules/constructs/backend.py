"""Where a stack keeps its Terraform state, and the Terraform it needs.

With S3 props: the S3 backend, one object per stack, encrypted, locked by an S3 lock file next
to it (`use_lockfile`, Terraform 1.10+; no DynamoDB table). Without: a local state file per
stack in the project directory, outside the synthesized output that a new synthesis replaces.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cdktf import App, LocalBackend, S3Backend, TerraformStack

REQUIRED_TERRAFORM = ">= 1.10"
"""Every stack's `required_version`: S3-native locking (`use_lockfile`) came with Terraform
1.10, and an older one would fail on the backend block instead of saying what it needs."""

PROJECT_DIR_CONTEXT = "hypernym:projectDir"
"""App context key: the project directory that local state belongs in. Unset: the directory the
synthesis runs from (where `cdktf synth` and `hypernym-deploy build` are run)."""


@dataclass(frozen=True, kw_only=True)
class S3StateProps:
    bucket: str
    key: str
    """The stack's state object."""
    region: str
    kms_key_id: str | None
    """Encrypt the state with this KMS key; None: the bucket's default encryption."""


def local_state_path(stack: TerraformStack, stack_name: str) -> str:
    """`terraform.<stack>.tfstate` in the project directory, as Terraform sees it from the stack's
    directory (`<outdir>/stacks/<stack>`): relative while the output is inside the project (the
    default cdktf.out gives ../../..), absolute when `--outdir` is elsewhere."""
    app = App.of(stack)
    project = Path(app.node.try_get_context(PROJECT_DIR_CONTEXT) or os.getcwd()).resolve()
    state = project / f"terraform.{stack_name}.tfstate"
    stack_dir = Path(app.outdir).resolve() / "stacks" / stack_name
    if stack_dir.is_relative_to(project):
        return os.path.relpath(state, stack_dir)
    return str(state)


def configure_backend(stack: TerraformStack, stack_name: str, s3: S3StateProps | None) -> None:
    stack.add_override("terraform.required_version", REQUIRED_TERRAFORM)
    if s3 is None:
        LocalBackend(stack, path=local_state_path(stack, stack_name))
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
