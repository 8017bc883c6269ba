"""The engine runs only on the durable-rules release it was written for (2.0.28).

The backend drives the C core directly, with calls and workarounds read from and
measured on that release (docs/durable-rules.md). Another release is refused at
start-up with one line that says what to install, rather than trusted silently.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from itb_triage.engine.durable_backend import DURABLE_RULES_VERSION
from itb_triage.engine.installed import installed_version

ROOT = Path(__file__).resolve().parent.parent

# Start the program the way the console script does.
PROGRAM = """
import sys
from itb_triage.cli.main import main
sys.argv = ["itb-triage", *sys.argv[1:]]
main()
"""


def _dist_info(folder: Path, name: str, version: str | None) -> Path:
    """Metadata of an installed release of `name`, as pip writes it."""
    info = folder / f"{name.replace('-', '_')}-{version or '0'}.dist-info"
    info.mkdir(parents=True)
    header = f"Version: {version}\n" if version else ""
    # A folded header and the description may hold "Version:" too; neither is the version.
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nSummary: one\n  Version: 8.8.8\n"
                                   f"{header}\nA description.\nVersion: 9.9.9\n", encoding="utf-8")
    return info


def _run_with_release(tmp_path: Path, version: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the program with another durable-rules release's metadata first on sys.path,
    as if that release were installed."""
    _dist_info(tmp_path / "site", "durable-rules", version)
    paths = [str(tmp_path / "site"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run([sys.executable, "-c", PROGRAM, *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)


def test_the_installed_release_is_the_one_pinned_and_the_one_the_backend_expects() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"durable-rules=={DURABLE_RULES_VERSION}" in pyproject["project"]["dependencies"]
    assert metadata.version("durable-rules") == DURABLE_RULES_VERSION
    assert installed_version("durable-rules") == DURABLE_RULES_VERSION


def test_another_release_is_refused_at_start_up_with_one_line(tmp_path: Path) -> None:
    run = _run_with_release(tmp_path, "2.0.27", "assess", "examples/classic.yaml")
    assert run.returncode == 4
    assert run.stdout == ""
    assert run.stderr == (
        "itb-triage: error: the rule engine needs durable-rules 2.0.28, but 2.0.27 is installed: reinstall it "
        "with `pip install durable-rules==2.0.28` (docs/durable-rules.md says why)\n"
    )


def test_the_light_commands_still_start_with_another_release(tmp_path: Path) -> None:
    # --version needs no rule engine, so it keeps working for diagnosis.
    run = _run_with_release(tmp_path, "2.0.27", "--version")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("itb-triage ")


# The installed version is read from the metadata file, without importlib.metadata (50 ms
# of a cold start); it must give importlib.metadata's answer wherever it answers at all.


@pytest.mark.parametrize("name", ["durable-rules", "Durable_Rules", "durable.rules", "click", "pyyaml", "jsonschema"])
def test_the_installed_version_is_importlib_metadatas(name: str) -> None:
    assert installed_version(name) == metadata.version(name)


def test_the_first_release_on_the_path_wins_as_in_importlib_metadata(tmp_path: Path) -> None:
    _dist_info(tmp_path / "first", "durable-rules", "1.0.0")
    _dist_info(tmp_path / "second", "durable-rules", "2.0.0")
    paths = [str(tmp_path / "missing"), str(tmp_path / "first"), str(tmp_path / "second")]
    assert installed_version("durable-rules", paths) == "1.0.0"
    # importlib.metadata's own search, on the same path:
    assert next(iter(metadata.distributions(name="durable-rules", path=paths))).version == "1.0.0"
    # Only the header counts, not a "Version:" line in the description below it.
    assert installed_version("durable-rules", [str(tmp_path / "second")]) == "2.0.0"


def test_a_release_not_installed_is_none(tmp_path: Path) -> None:
    (tmp_path / "other-1.0.dist-info").mkdir()
    assert installed_version("durable-rules", [str(tmp_path)]) is None


def test_metadata_of_another_form_is_left_to_importlib_metadata(tmp_path: Path) -> None:
    # No Version header: importlib.metadata decides (it finds the release, versionless).
    _dist_info(tmp_path / "bare", "durable-rules", None)
    assert installed_version("durable-rules", [str(tmp_path / "bare")]) is None
    # An .egg-info, which this reader does not parse: importlib.metadata reads it.
    egg = tmp_path / "egg" / "durable_rules-3.0.0.egg-info"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: durable-rules\nVersion: 3.0.0\n", encoding="utf-8")
    assert installed_version("durable-rules", [str(tmp_path / "egg")]) == "3.0.0"


def test_an_import_hook_with_distributions_of_its_own_is_left_to_importlib_metadata(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Hook:
        """An import hook that provides distributions, as importlib.metadata lets one."""

        @staticmethod
        def find_spec(*_args: object) -> None:
            return None

        @staticmethod
        def find_distributions(context: metadata.DistributionFinder.Context) -> list[metadata.Distribution]:
            found = metadata.PathDistribution(_dist_info(tmp_path / "hooked", "durable-rules", "7.0.0"))
            return [found] if context.name in (None, "durable-rules") else []

    _dist_info(tmp_path / "site", "durable-rules", "1.0.0")
    monkeypatch.setattr(sys, "meta_path", [Hook(), *sys.meta_path])
    assert installed_version("durable-rules", [str(tmp_path / "site")]) == "7.0.0"
