"""The cdktf CLI (scripts/cdktf) run as a user runs it, in a scratch project directory.

A user's checkout has cdktf.json, main.py and .venv at its root. A scratch directory holding
links to the repository's three runs the repository's own app and configuration, while
cdktf.out (and any local state) lands in the scratch directory, never in the work tree.

Only the environment points the commands at moto: test credentials and AWS_ENDPOINT_URL, which
the AWS SDK behind Terraform's AWS provider and its S3 backend read for every service (AWS SDKs
and Tools reference guide, "Service-specific endpoints"). The project never knows about moto.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.tooling import REPO_ROOT, cdktf_command

from .moto import MotoServer

PROJECT_LINKS = ("cdktf.json", "main.py", ".venv")
# What the caller's environment may carry that would do scripts/cdktf's job for it (telemetry
# off, the CLI configuration) or point AWS elsewhere: dropped, so the wrapper is what is tested.
FOREIGN_PREFIXES = ("AWS_", "TF_", "CDKTF_", "CHECKPOINT_", "DISABLE_VERSION_CHECK")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def moto_env(moto: MotoServer, home: Path) -> dict[str, str]:
    """The caller's environment, with AWS pointed at moto and HOME in a scratch directory (so a
    test can see what the CLI would write into a user's home)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_PREFIXES)}
    env.update(moto.boto3_env())
    # moto answers 500 for what it lacks; the SDK's default retries would take minutes.
    env["AWS_MAX_ATTEMPTS"] = "2"
    env["HOME"] = str(home)
    return env


def plain(output: str) -> str:
    """The CLI's output without its terminal colours and cursor movements."""
    return ANSI.sub("", output)


@dataclass(frozen=True)
class CdktfRun:
    args: tuple[str, ...]
    returncode: int
    output: str
    """stdout and stderr interleaved, without ANSI escapes."""


@dataclass(frozen=True)
class CdktfProject:
    """A scratch project directory and the environment its cdktf commands run with."""

    directory: Path
    env: dict[str, str]
    timeout_seconds: float = 900

    @classmethod
    def linked(cls, directory: Path, env: dict[str, str]) -> CdktfProject:
        directory.mkdir(parents=True)
        for name in PROJECT_LINKS:
            (directory / name).symlink_to(REPO_ROOT / name)
        return cls(directory, env)

    def stack_dir(self, stack: str) -> Path:
        return self.directory / "cdktf.out" / "stacks" / stack

    def start(self, *args: str) -> RunningCdktf:
        """`scripts/cdktf ARGS` in the background, its output into a log in the project."""
        log = self.directory / f"cdktf-{args[0]}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(cdktf_command()), *args],
                cwd=self.directory,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        return RunningCdktf(args, process, log, self.timeout_seconds)

    def run(self, *args: str, check: bool = True) -> CdktfRun:
        return self.start(*args).finish(check=check)


@dataclass(frozen=True)
class RunningCdktf:
    args: tuple[str, ...]
    process: subprocess.Popen[bytes]
    log: Path
    timeout_seconds: float

    def finish(self, *, check: bool = True) -> CdktfRun:
        """Wait for the command (a timeout kills it); with `check`, fail unless it succeeded."""
        try:
            returncode = self.process.wait(timeout=self.timeout_seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        result = CdktfRun(self.args, returncode, plain(self.log.read_text(errors="replace")))
        if check and returncode != 0:
            raise AssertionError(
                f"scripts/cdktf {' '.join(self.args)} failed in {self.log.parent} "
                f"(exit {returncode}):\n{result.output[-6000:]}"
            )
        return result
