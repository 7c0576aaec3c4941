"""Logging hygiene for tests that run the product's CLI in-process.

`leadrouter` configures structlog and stdlib logging onto the stderr of the moment —
under pytest, a capture stream that is closed when the test ends. Each test here gets
the configuration put back afterwards, so the next test never logs into a closed file.

Every jobs module is imported here, before any test configures logging: should a module
ever bind a logger at import again (it once did; tests/security/test_log_pipeline.py
guards against it), that logger cannot end up writing into a closed capture stream.
"""
import importlib
import logging
import pkgutil

import pytest
import structlog

import jobs

for _info in pkgutil.walk_packages(jobs.__path__, "jobs."):
    try:
        importlib.import_module(_info.name)
    except Exception:  # noqa: BLE001 - a module mid-edit elsewhere must not stop these suites
        pass


@pytest.fixture(autouse=True)
def _logging_put_back():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
