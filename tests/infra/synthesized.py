"""Read a synthesized stack's cdk.tf.json: resources by type, parsed policies, references."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Body = dict[str, Any]


@dataclass(frozen=True)
class Stack:
    directory: Path
    document: Body

    @classmethod
    def load(cls, cdktf_out: Path, name: str) -> Stack:
        directory = cdktf_out / "stacks" / name
        return cls(directory, json.loads((directory / "cdk.tf.json").read_text()))

    def resources(self, kind: str) -> dict[str, Body]:
        """Logical id -> body of every resource of type `kind` (empty when none)."""
        return self.document.get("resource", {}).get(kind, {})

    def data(self, kind: str) -> dict[str, Body]:
        return self.document.get("data", {}).get(kind, {})

    def one(self, kind: str, id_part: str = "") -> Body:
        """The single resource of `kind` whose logical id contains `id_part`."""
        found = [body for name, body in self.resources(kind).items() if id_part in name]
        assert len(found) == 1, f"expected one {kind} matching {id_part!r}, found {len(found)}"
        return found[0]

    def ref(self, kind: str, id_part: str, attribute: str = "id") -> str:
        """The interpolation `${kind.<logical id>.attribute}` for the one matching resource."""
        names = [name for name in self.resources(kind) if id_part in name]
        assert len(names) == 1, f"expected one {kind} matching {id_part!r}, found {names}"
        return f"${{{kind}.{names[0]}.{attribute}}}"

    def role_policies(self, role_part: str) -> list[Body]:
        """Every statement of the inline policies attached to the role matching `role_part`."""
        role = self.ref("aws_iam_role", role_part)
        return [
            statement
            for body in self.resources("aws_iam_role_policy").values()
            if body["role"] == role
            for statement in json.loads(body["policy"])["Statement"]
        ]

    def container(self) -> Body:
        """The one container definition of the one task definition."""
        (container,) = json.loads(self.one("aws_ecs_task_definition")["container_definitions"])
        return container


def actions(statement: Body) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


def endpoint_service_name(document: Body, endpoint: Body) -> str:
    """A VPC endpoint's service name, through its plan-time lookup where it has one."""
    name = str(endpoint["service_name"])
    looked_up = re.fullmatch(r"\$\{data\.aws_vpc_endpoint_service\.([^.]+)\.service_name\}", name)
    if looked_up is None:
        return name
    return str(document["data"]["aws_vpc_endpoint_service"][looked_up.group(1)]["service_name"])
