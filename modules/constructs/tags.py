"""Tags: deployment-wide defaults on the provider, a `Name` on each resource, and a check.

The stacks give the AWS provider `default_tags` (ManagedBy, Product, Environment, Deployment and
the user's tags) for every taggable resource; each construct adds a `Name`. :class:`RequireNameTag`
is an aspect that fails the synthesis when a taggable resource has no `Name`, so a resource
added later cannot slip through untagged.
"""

from __future__ import annotations

import jsii
from cdktf import Annotations, IAspect, TerraformResource
from constructs import IConstruct


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
