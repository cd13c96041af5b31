"""Real terraform in a synthesized stack directory, offline, optionally pointed at moto.

Production code never knows about moto: the harness writes a Terraform override file
(`moto_override.tf.json`) next to cdk.tf.json that adds test credentials and endpoints to
the stack's aws provider (and, when asked, to its S3 backend). Terraform merges `*_override`
files over the configuration, so the stack under test is otherwise exactly what users deploy.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.tooling import terraform_env, terraform_executable

from .moto import MOTO_CREDENTIALS, MotoServer

# Services whose endpoints point at moto. Every AWS API a stack touches must be listed,
# or the provider would try the real AWS endpoint (and fail: there is no network).
MOTO_SERVICES = (
    "acm",
    "applicationautoscaling",
    "autoscaling",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "eks",
    "elbv2",
    "iam",
    "kms",
    "logs",
    "s3",
    "secretsmanager",
    "sqs",
    "sts",
    "ssm",
)


class TerraformError(AssertionError):
    """A terraform command failed; the message carries the command and its output's tail."""


@dataclass
class Terraform:
    """Runs terraform in one stack directory (cdktf.out/stacks/<name>)."""

    workdir: Path
    moto: MotoServer | None = None
    timeout_seconds: float = 900
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.moto is not None:
            self._write_moto_override(backend=False)

    def _write_moto_override(self, *, backend: bool) -> None:
        assert self.moto is not None
        provider = {
            "access_key": "test",
            "secret_key": "test",
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": "true",
            "s3_use_path_style": True,
            # moto answers 500 for what it lacks; the default 25 retries take minutes.
            "max_retries": 2,
            "endpoints": [dict.fromkeys(MOTO_SERVICES, self.moto.endpoint)],
        }
        override: dict = {"provider": {"aws": [provider]}}
        if backend:
            override["terraform"] = [{"backend": [{"s3": [self._backend_override()]}]}]
        (self.workdir / "moto_override.tf.json").write_text(json.dumps(override, indent=2))

    def _backend_override(self) -> dict:
        stack = json.loads((self.workdir / "cdk.tf.json").read_text())
        backend = dict(stack["terraform"]["backend"]["s3"])
        assert self.moto is not None
        backend.update(
            access_key="test",
            secret_key="test",
            skip_credentials_validation=True,
            skip_requesting_account_id=True,
            skip_metadata_api_check=True,
            skip_region_validation=True,
            skip_s3_checksum=True,
            use_path_style=True,
            endpoints={
                "s3": self.moto.endpoint,
                "sts": self.moto.endpoint,
                "iam": self.moto.endpoint,
                "dynamodb": self.moto.endpoint,
            },
        )
        return backend

    def use_moto_backend(self) -> None:
        """Point the stack's S3 backend (from the configuration) at moto too."""
        self._write_moto_override(backend=True)

    def run(
        self, *args: str, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = terraform_env()
        if self.moto is not None:
            env.update(MOTO_CREDENTIALS)
        env.update(self.env)
        command = [str(terraform_executable()), *args]
        completed = subprocess.run(
            command,
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout_seconds,
            check=False,
        )
        if check and completed.returncode != 0:
            output = (completed.stdout + completed.stderr)[-6000:]
            raise TerraformError(
                f"terraform {' '.join(args)} failed in {self.workdir} "
                f"(exit {completed.returncode}):\n{output}"
            )
        return completed

    def init(self, *, backend: bool = False) -> None:
        self.run("init", "-input=false", "-no-color", f"-backend={str(backend).lower()}")

    def validate(self) -> dict:
        return json.loads(self.run("validate", "-json", "-no-color").stdout)

    def plan(self, out: str = "plan.bin", *extra: str) -> dict:
        """Plan into `out` and return `terraform show -json` of it."""
        self.run("plan", "-input=false", "-no-color", "-lock-timeout=0s", f"-out={out}", *extra)
        return json.loads(self.run("show", "-json", out).stdout)

    def apply(self, *extra: str) -> None:
        self.run("apply", "-input=false", "-no-color", "-auto-approve", *extra)

    def destroy(self, *extra: str) -> None:
        self.run("destroy", "-input=false", "-no-color", "-auto-approve", *extra)

    def output(self) -> dict:
        return json.loads(self.run("output", "-json").stdout)
