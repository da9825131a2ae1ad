"""The fork server's private CPython names and its lifecycle (start with the first holder, stop with the last)."""
import os

from vllm_node import fork_server


def test_cpython_private_names_exist():
    # A Python release that renames one of these breaks fastStart: this fails first, loudly.
    assert fork_server.missing_cpython_names() == []


def test_starts_with_the_first_holder_and_stops_with_the_last():
    fork_server.hold()
    try:
        fork_server.ensure_running()
        pid = fork_server._server()._forkserver_pid
        assert pid is not None
        os.kill(pid, 0)  # alive
        fork_server.hold()
        fork_server.release()
        assert fork_server._server()._forkserver_pid == pid  # one holder left: still running
    finally:
        fork_server.release()
    assert fork_server._server()._forkserver_pid is None
    try:
        os.kill(pid, 0)
        gone = False
    except ProcessLookupError:
        gone = True
    assert gone
