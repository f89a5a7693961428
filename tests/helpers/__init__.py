"""What the tests share besides fixtures, one module per subject: ``from helpers.send import
make_issue``. ``tests`` is on the import path (``pythonpath`` in pyproject.toml), so every
test folder, and the benchmarks, import them the same way; tests never import ``conftest``.

Modules that define fixtures (admin, browser, dkim, site) are registered as plugins by
tests/conftest.py, so a test names those fixtures as arguments and imports nothing for them.
"""
