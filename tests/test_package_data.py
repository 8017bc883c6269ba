"""The package's data folders are found as importlib.resources finds them, without it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest

from itb_triage.engine.package_data import package_folder

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", ["itb_triage.knowledge", "itb_triage.rules", "itb_triage.knowledge.schemas"])
def test_a_folder_package_is_the_folder_importlib_resources_gives(package: str) -> None:
    folder = package_folder(package)
    assert folder == resources.files(package)
    assert sorted(i.name for i in folder.iterdir()) == sorted(i.name for i in resources.files(package).iterdir())


def test_a_zipped_package_goes_through_importlib_resources(tmp_path: Path) -> None:
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped_data/__init__.py", "")
        zipped.writestr("zipped_data/facts.yaml", "a: 1\n")
    code = ("import sys; from itb_triage.engine.package_data import package_folder; "
            "f = package_folder('zipped_data'); print(type(f).__name__, (f / 'facts.yaml').read_text(), end='')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT,
                         env={"PYTHONPATH": str(archive), "PATH": ""})
    assert run.returncode == 0, run.stderr
    assert run.stdout == "Path a: 1\n"  # zipfile.Path, read from inside the archive
