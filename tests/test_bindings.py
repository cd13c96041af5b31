"""The hashicorp/aws bindings are the subset scripts/generate-bindings builds into .gen/python,
they cover every type the code imports, and nothing falls back to a prebuilt package.

A failure here that names a module means modules/ imports a type the bindings lack:
run scripts/setup (it regenerates them when the imports change).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

from tests.tooling import REPO_ROOT

PACKAGE = "cdktf_cdktf_provider_aws"
GENERATED = REPO_ROOT / ".gen" / "python"
REGENERATE = "run scripts/setup (or scripts/generate-bindings) to regenerate the bindings"


def imported_types() -> dict[str, str]:
    """Every `cdktf_cdktf_provider_aws.<module>` imported under modules/ (any depth) or by
    main.py -> the first file that imports it. Scanned here independently of the generator."""
    found: dict[str, str] = {}
    files = [REPO_ROOT / "main.py", *sorted((REPO_ROOT / "modules").rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = (
                    [f"{PACKAGE}.{alias.name}" for alias in node.names]
                    if node.module == PACKAGE
                    else [node.module]
                )
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == PACKAGE and len(parts) > 1:
                    found.setdefault(parts[1], str(path.relative_to(REPO_ROOT)))
    return found


def test_the_code_imports_aws_types() -> None:
    # Guards the scan itself: an empty result would make the coverage test vacuous.
    types = imported_types()
    assert {"provider", "vpc", "data_aws_vpc", "vpc_security_group_ingress_rule"} <= set(types)


def test_every_imported_type_is_in_the_generated_bindings() -> None:
    missing = {
        module: source
        for module, source in imported_types().items()
        if not (GENERATED / PACKAGE / module / "__init__.py").is_file()
    }
    assert not missing, (
        "types the code imports are missing from .gen/python/cdktf_cdktf_provider_aws: "
        + ", ".join(f"{module} (imported by {source})" for module, source in missing.items())
        + f"; {REGENERATE}"
    )


def test_the_bindings_were_generated_from_the_current_imports() -> None:
    # used-types.json is what the generator built; it must be today's scan, so a type dropped
    # from the code also leaves the bindings (and a stale .gen is caught before synthesis).
    built = json.loads((GENERATED / "used-types.json").read_text())
    assert sorted(built) == sorted(imported_types()), REGENERATE
    assert built["vpc"] == {"kind": "resource", "type": "aws_vpc"}
    assert built["data_aws_vpc"] == {"kind": "data_source", "type": "aws_vpc"}
    assert built["provider"] == {"kind": "provider", "type": "provider"}


def test_the_generated_package_is_the_one_imported() -> None:
    package = importlib.import_module(PACKAGE)
    assert Path(package.__file__ or "").resolve() == (GENERATED / PACKAGE / "__init__.py")
    # No pkgutil.extend_path: the package's only directory is the generated one.
    assert [Path(p).resolve() for p in package.__path__] == [GENERATED / PACKAGE]
    for module in imported_types():
        loaded = importlib.import_module(f"{PACKAGE}.{module}")
        assert Path(loaded.__file__ or "").resolve().is_relative_to(GENERATED), module
    # The jsii assembly is the subset's (~1 MB), not the prebuilt's 34 MB one.
    (assembly,) = (GENERATED / PACKAGE / "_jsii").glob("*.jsii.tgz")
    assert assembly.stat().st_size < 5 * 2**20


def test_no_prebuilt_aws_bindings_are_installed() -> None:
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("cdktf-cdktf-provider-aws")
    shadows = [
        entry
        for entry in sys.path
        if entry and (Path(entry) / PACKAGE).is_dir() and Path(entry).resolve() != GENERATED
    ]
    assert not shadows, f"another {PACKAGE} on sys.path: {shadows}"


def test_a_type_missing_from_the_subset_fails_loudly() -> None:
    assert "lambda_function" not in imported_types()
    with pytest.raises(ModuleNotFoundError, match="lambda_function"):
        importlib.import_module(f"{PACKAGE}.lambda_function")
