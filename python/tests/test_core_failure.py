"""Why an EngineCore failed (to start, or later) reaches the engine's error (bootstrap.CORE_ERROR_ENV)."""
import logging
import logging.config
import os

import pytest

from vllm_node import bootstrap


@pytest.fixture
def core(tmp_path, monkeypatch):
    """The EngineCore's logger with vllm-node's filter writing to a fresh file; the logger as it was afterwards."""
    logger = logging.getLogger(bootstrap.CORE_LOGGER)
    vllm = logging.getLogger("vllm")
    worker = logging.getLogger("vllm.v1.executor.multiproc_executor")
    saved = (list(logger.filters), logger.__dict__.get("isEnabledFor"), vllm.level, vllm.propagate, list(vllm.handlers))
    path = tmp_path / "core-error"
    path.write_text("")
    monkeypatch.setenv(bootstrap.CORE_ERROR_ENV, str(path))
    bootstrap.report_core_failure()
    yield logger, path
    if bootstrap._CoreFailure.fd is not None:
        os.close(bootstrap._CoreFailure.fd)
        bootstrap._CoreFailure.fd = None
    logger.filters[:] = saved[0]
    if saved[1] is None:
        logger.__dict__.pop("isEnabledFor", None)
    worker.filters[:] = [f for f in worker.filters if not isinstance(f, bootstrap._CoreFailure)]
    worker.__dict__.pop("isEnabledFor", None)
    vllm.setLevel(saved[2])
    vllm.propagate = saved[3]
    vllm.handlers[:] = saved[4]


def _fail(logger: logging.Logger, text: str, msg: str = "EngineCore failed to start.") -> None:
    try:
        raise ValueError(text)
    except ValueError:
        logger.exception(msg)


def test_the_failure_goes_to_the_named_file_and_other_errors_do_not(core):
    logger, path = core
    bootstrap.report_core_failure()  # installed once
    assert sum(isinstance(f, bootstrap._CoreFailure) for f in logger.filters) == 1
    _fail(logger, "bad request", msg="Unexpected error pre-processing request %s")
    _fail(logger, "No available memory for the cache blocks")
    _fail(logging.getLogger("vllm.v1.executor.multiproc_executor"), "a broken checkpoint", msg="WorkerProc failed to start.")
    assert path.read_text() == "ValueError: No available memory for the cache blocks\nValueError: a broken checkpoint\n"


def test_passes_vllms_critical_level_and_its_logging_set_up(core):
    # vLLM configures "vllm" with dictConfig at import (clearing the handlers of the loggers under it) and its level
    # from VLLM_LOGGING_LEVEL, which logLevel 'critical' sets to CRITICAL.
    logger, path = core
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False,
                               "loggers": {"vllm": {"level": "CRITICAL", "propagate": False}}})
    _fail(logger, "after set-up", msg="EngineCore encountered a fatal error.")
    assert path.read_text() == "ValueError: after set-up\n"
