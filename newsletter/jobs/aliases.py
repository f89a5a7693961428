"""Old module paths of RQ jobs, kept importable for one release after a module moved.

RQ stores a job as the dotted path of its function (``newsletter.import_jobs.run``) and a
worker imports that path when it takes the job, so a job queued before an upgrade names
the module where it used to be. This finder answers an old name with the module at its new
place (the same module object, not a copy), so such jobs still run; no file is left behind
at the old path. Installed by ``newsletter/__init__.py``, so any process that imports the
package (a worker, the web app, the tick) resolves the old names.

Remove an entry one release after its move: by then no job queued under it is left.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

# Old dotted module name -> new one; each engineer who moves a module that has jobs adds it.
MOVED = {
    "newsletter.import_jobs": "newsletter.imports.jobs",
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an old name by importing the new module and putting it in the old name's place."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # a throwaway module: exec_module replaces it with the real one

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds under the name once this
        # returns, so the real module is left untouched (its __name__ and __spec__ stay).
        sys.modules[module.__name__] = importlib.import_module(self.target)


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the modules named in ``MOVED`` under their old names."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        new_name = MOVED.get(fullname)
        if new_name is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new_name))


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once, however often it is called)."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
