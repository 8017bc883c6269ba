"""Where a package's data files are (the knowledge, the rules, the schemas).

`importlib.resources.files` answers this wherever the package lives. Importing it costs
a cold start about 12 ms (it brings tempfile, shutil, zipfile, random), more than
`--version` does with the answer. For a package loaded from a folder of files (a
checkout, an editable install, an unpacked wheel), what importlib.resources gives is
that folder, the loader's file's parent (its FileReader), so it is taken from there
directly; any other loader (a zip, a custom importer) goes through importlib.resources.
"""

from __future__ import annotations

import importlib
from importlib.machinery import SourceFileLoader, SourcelessFileLoader
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


def package_folder(package: str) -> Traversable:
    """The folder of `package`'s files, as `importlib.resources.files(package)` gives it."""
    spec = importlib.import_module(package).__spec__
    loader = spec.loader if spec is not None else None
    if isinstance(loader, SourceFileLoader | SourcelessFileLoader):
        return Path(loader.path).parent
    from importlib import resources

    return resources.files(package)
