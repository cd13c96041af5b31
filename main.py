"""The CDKTF app (`cdktf synth|diff|deploy` runs this): synthesize the selected deployment.

The deployment comes from `--config PATH|NAME`, else $HYPERNYM_DEPLOYMENT, else ecs-managed.
"""

from __future__ import annotations

import argparse
import os
import sys

from modules.cli.deployment import prepare_jsii_runtime, reported_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="deployment file or example name in deployments/")
    args = parser.parse_args()
    config = reported_config(args.config)
    if config is None:
        sys.exit(2)
    prepare_jsii_runtime()
    from modules.stacks.app import build_app  # noqa: PLC0415 - jsii starts with it: only after the config

    build_app(config).synth()
    # Skip the interpreter's teardown of the jsii runtime; the stacks are written.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
