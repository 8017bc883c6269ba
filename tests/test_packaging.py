"""The four top-level folders install as parts of one package, from a wheel too.

A subpackage missing from pyproject's `packages` still imports from an editable
install but is left out of the wheel (DESIGN.md), so compare the folders with the
list, and build a real wheel to see that every data file is inside it.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
TOP_FOLDERS = ("engine", "cli", "rules", "knowledge", "web", "fhir")
# The web app's templates and assets are package data beside its modules.
WEB_DATA = ("templates", "static")


def _package_folders() -> dict[str, Path]:
    return {package: ROOT / folder for package, folder in SETUPTOOLS["package-dir"].items()}


def test_every_required_top_level_folder_is_mapped_into_the_package() -> None:
    mapped = set(SETUPTOOLS["package-dir"].values())
    assert set(TOP_FOLDERS) <= mapped
    assert set(SETUPTOOLS["package-dir"]) == set(SETUPTOOLS["packages"])


def test_every_folder_with_code_or_data_is_a_listed_package() -> None:
    listed = {folder.resolve() for folder in _package_folders().values()}
    for top in TOP_FOLDERS:
        for folder in [ROOT / top, *(p for p in (ROOT / top).rglob("*") if p.is_dir())]:
            if folder.name == "__pycache__":
                continue
            if any(f.suffix in (".py", ".yaml", ".json") for f in folder.iterdir()):
                assert folder.resolve() in listed, f"{folder.relative_to(ROOT)} is not in [tool.setuptools] packages"
                assert (folder / "__init__.py").exists(), f"{folder.relative_to(ROOT)} has no __init__.py"


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("itb_triage-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package, folder in _package_folders().items():
        prefix = package.replace(".", "/")
        for path in folder.iterdir():
            if path.suffix in (".py", ".yaml", ".json"):
                assert f"{prefix}/{path.name}" in names, f"{prefix}/{path.name} missing from the wheel"
    for sub in WEB_DATA:
        for path in (ROOT / "web" / sub).iterdir():
            assert f"itb_triage/web/{sub}/{path.name}" in names, f"web/{sub}/{path.name} missing from the wheel"
