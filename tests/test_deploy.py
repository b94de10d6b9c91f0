"""Deployment files agree: the Dockerfile's volumes are compose.yaml's, and every install
path (scripts, Dockerfile) goes through constraints.txt, which pins every dependency."""

from __future__ import annotations

import json
import re

import tomllib
import yaml

from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text("utf-8")
CONSTRAINTS = (REPO / "constraints.txt").read_text("utf-8")


def pins() -> dict[str, str]:
    found = {}
    for line in CONSTRAINTS.splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_compose_mounts_a_named_volume_on_every_declared_volume() -> None:
    [declared] = re.findall(r"^VOLUME (\[.*\])$", DOCKERFILE, re.MULTILINE)
    compose = yaml.safe_load((REPO / "compose.yaml").read_text("utf-8"))
    mounts = compose["services"]["policybot"]["volumes"]
    assert sorted(m.split(":")[1] for m in mounts) == sorted(json.loads(declared))
    assert {m.split(":")[0] for m in mounts} == set(compose["volumes"])


def test_every_install_uses_the_constraints() -> None:
    installs = [line for text in (DOCKERFILE, *(
        (REPO / "scripts" / name).read_text("utf-8") for name in ("serve.sh", "test.sh")))
        for line in text.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all("-c constraints.txt" in line for line in installs)


def test_constraints_pin_every_dependency_and_the_cpu_torch() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values()
                                          for d in extra)]
    names = {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ]", d)[0]).lower() for d in wanted}
    assert names - set(pins()) == set()
    assert pins()["torch"] == "2.13.0+cpu"
    assert not any(name.startswith("nvidia") for name in pins())
