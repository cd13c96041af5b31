"""Tags: deployment-wide defaults on the provider, a `Name` on each resource, and a check.

The AWS provider's `default_tags` put ManagedBy, Product, Environment, Deployment and the
user's tags on every taggable resource; each construct adds a `Name`. :class:`RequireNameTag`
is an aspect that fails the synthesis when a taggable resource has no `Name`, so a resource
added later cannot slip through untagged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jsii
from cdktf import Annotations, IAspect, TerraformResource
from constructs import IConstruct

if TYPE_CHECKING:
    from modules.config import DeploymentConfig

PRODUCT = "Hypernym"
MANAGED_BY = "cdktf"


def default_tags(config: DeploymentConfig) -> dict[str, str]:
    """The provider-level tags of every resource in the deployment."""
    return {
        **config.tags,
        "ManagedBy": MANAGED_BY,
        "Product": PRODUCT,
        "Environment": config.environment,
        "Deployment": config.name,
    }


def name_tag(name: str) -> dict[str, str]:
    return {"Name": name}


@jsii.implements(IAspect)
class RequireNameTag:
    """Fails synthesis (an error annotation) for a taggable resource without a `Name` tag."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource) or not hasattr(node, "tags_input"):
            return
        if "Name" not in (node.tags_input or {}):
            Annotations.of(node).add_error(
                f"{node.terraform_resource_type} has no Name tag: pass tags=name_tag(...)"
            )
