"""Build hook: the wheel carries compiled gettext catalogues (``.mo``), made from the ``.po``
files in newsletter/translations; only the ``.po`` files are kept in the repository. Everything
else about the package is in pyproject.toml."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithCatalogues(build_py):
    """``build_py``, then every catalogue compiled into the build."""

    def run(self) -> None:
        super().run()
        # By path: importing the newsletter package would need Flask, absent while building.
        path = HERE / "newsletter" / "languages" / "catalogues.py"
        spec = importlib.util.spec_from_file_location("_catalogues", path)
        catalogues = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(catalogues)
        target = Path(self.build_lib) / "newsletter" / "translations"
        catalogues.compile_all(catalogues.DIRECTORY, target, only_stale=False)


setup(cmdclass={"build_py": BuildWithCatalogues})
