"""The README documents every setting and the commands CI relies on."""

from __future__ import annotations

from service.core.settings import Settings
from tests.conftest import REPO

README = (REPO / "README.md").read_text("utf-8")


def test_every_setting_is_in_the_readme_settings_table() -> None:
    for name in Settings.model_fields:
        assert f"| `{name}` | `POLICYBOT_{name.upper()}` |" in README, name


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    assert "./scripts/test.sh" in README and "./scripts/test.sh" in ci
    assert "./scripts/serve.sh" in README
