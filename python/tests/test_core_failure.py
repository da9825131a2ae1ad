"""Why an EngineCore failed (to start, or later) reaches the engine's error (bootstrap.CORE_ERROR_ENV)."""
import logging

from vllm_node import bootstrap


def _fail(logger: logging.Logger, text: str) -> None:
    try:
        raise ValueError(text)
    except ValueError:
        logger.exception("EngineCore failed to start.")


def test_the_exception_goes_to_the_named_file_once_and_never_recreates_it(tmp_path, monkeypatch):
    path = tmp_path / "start-error"
    path.write_text("")
    monkeypatch.setenv(bootstrap.CORE_ERROR_ENV, str(path))
    bootstrap.report_core_failure()
    bootstrap.report_core_failure()  # installed once
    core = logging.getLogger("vllm.v1.engine.core")
    _fail(core, "No available memory for the cache blocks")
    assert path.read_text() == "ValueError: No available memory for the cache blocks\n"
    path.unlink()  # the engine read it and removed it
    _fail(core, "a later fatal error")
    assert not path.exists()


def test_survives_a_logging_set_up_like_vllms(tmp_path, monkeypatch):
    # vLLM configures "vllm" with dictConfig at import, which clears the handlers of the loggers under it.
    import logging.config

    path = tmp_path / "start-error"
    path.write_text("")
    monkeypatch.setenv(bootstrap.CORE_ERROR_ENV, str(path))
    bootstrap.report_core_failure()
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False,
                               "loggers": {"vllm": {"level": "WARNING", "propagate": False}}})
    _fail(logging.getLogger("vllm.v1.engine.core"), "after set-up")
    assert path.read_text() == "ValueError: after set-up\n"
