"""Backend sessions: availability reports, device lifecycle, OpenMP threads, CUDA code generation."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from bioplaus import backends
from bioplaus.backends import apply_cuda_cpp17_fix, availability, check_backend, session
from bioplaus.errors import BackendUnavailable, ConfigError
from bioplaus.simulation import simulate
from bioplaus.spec import LIF, Monitor, NetworkSpec, PairSTDP, PoissonInput, Population, Projection


def small_net(seed: int = 1, n_out: int = 3, duration: str = "200 ms") -> NetworkSpec:
    return NetworkSpec(
        populations=[Population("inp", PoissonInput(rates="30 Hz", frozen=True), 30), Population("out", LIF(), n_out)],
        projections=[Projection("ff", "inp", "out", rule=PairSTDP(), w_init=(0.3, 0.8), weight_scale="0.4 nA")],
        monitors=[Monitor("out")], duration=duration, seed=seed)


def current_device_name() -> str:
    from brian2.devices.device import get_device

    return type(get_device()).__name__


# --------------------------------------------------------------------------- availability

def test_unknown_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean 'cuda'"):
        check_backend("cdua")
    with pytest.raises(ConfigError):
        with session("gpu"):
            pass


def test_numpy_needs_nothing(monkeypatch):
    monkeypatch.setattr(backends, "_compiler", lambda: None)
    check_backend("numpy")
    assert availability()["numpy"] == "ok"


@pytest.mark.parametrize("name", ["cython", "cpp"])
def test_no_compiler(monkeypatch, name):
    monkeypatch.setattr(backends, "_compiler", lambda: None)
    with pytest.raises(BackendUnavailable) as exc:
        check_backend(name)
    assert exc.value.backend == name and "compiler" in exc.value.reason
    assert "compiler" in availability()[name]
    # the session refuses before touching Brian2's device
    with pytest.raises(BackendUnavailable):
        with session(name):
            pytest.fail("session entered without a compiler")
    assert current_device_name() == "RuntimeDevice"


def test_no_make_for_cpp(monkeypatch):
    monkeypatch.setattr(backends, "_make", lambda: None)
    with pytest.raises(BackendUnavailable, match="make"):
        check_backend("cpp")


def test_no_cython(monkeypatch):
    monkeypatch.setattr(backends, "_cython_version", lambda: None)
    with pytest.raises(BackendUnavailable, match="Cython is not installed"):
        check_backend("cython")


def test_brian2cuda_not_importable(monkeypatch):
    monkeypatch.setitem(sys.modules, "brian2cuda", None)  # makes `import brian2cuda` fail
    with pytest.raises(BackendUnavailable) as exc:
        check_backend("cuda")
    assert exc.value.backend == "cuda" and "brian2cuda is not installed" in exc.value.reason
    # code generation needs brian2cuda too
    with pytest.raises(BackendUnavailable, match="brian2cuda"):
        check_backend("cuda", compile=False)
    assert "brian2cuda" in availability()["cuda"]


def test_no_nvcc(monkeypatch):
    monkeypatch.setattr(backends, "_brian2cuda", lambda: (object(), ""))
    monkeypatch.setattr(backends, "_nvcc", lambda: None)
    with pytest.raises(BackendUnavailable, match="nvcc not found"):
        check_backend("cuda")
    check_backend("cuda", compile=False)  # generating code needs no nvcc


def test_no_gpu(monkeypatch):
    monkeypatch.setattr(backends, "_brian2cuda", lambda: (object(), ""))
    monkeypatch.setattr(backends, "_nvcc", lambda: "/opt/cuda/bin/nvcc")
    monkeypatch.setattr(backends, "_gpu_present", lambda: (False, "no CUDA GPU: nvidia-smi -L lists none"))
    with pytest.raises(BackendUnavailable) as exc:
        check_backend("cuda")
    assert str(exc.value) == "backend 'cuda' is unavailable: no CUDA GPU: nvidia-smi -L lists none"
    check_backend("cuda", need_gpu=False)
    assert availability()["cuda"] == "no CUDA GPU: nvidia-smi -L lists none"


def test_gpu_probe_without_driver(monkeypatch):
    monkeypatch.setattr(backends.shutil, "which", lambda name: None)
    ok, why = backends._gpu_present()
    assert not ok and "nvidia-smi not found" in why


def test_availability_and_environment_report_this_machine():
    report = availability()
    assert list(report) == ["numpy", "cython", "cpp", "cuda"]
    assert report["numpy"] == "ok"
    assert all(isinstance(v, str) and v for v in report.values())
    env = backends.environment()
    assert env["brian2"] == "2.10.1" and env["python"].startswith("3.")
    assert (env["gpu"] is None) != (env["gpu_reason"] is None)


# --------------------------------------------------------------------------- session lifecycle

def test_numpy_session_sets_and_restores_prefs():
    from brian2 import prefs

    before = prefs.codegen.target
    with session("numpy") as s:
        assert prefs.codegen.target == "numpy" and not s.standalone
        assert current_device_name() == "RuntimeDevice"
    assert prefs.codegen.target == before


def test_bad_session_options():
    with pytest.raises(ConfigError, match="threads"):
        with session("cpp", threads=-1):
            pass
    with pytest.raises(ConfigError, match="compile"):
        with session("numpy", compile=False):
            pass


def test_failed_standalone_block_resets_device_and_removes_its_directory():
    with pytest.raises(RuntimeError, match="boom"):
        with session("cpp") as s:
            directory = Path(s.directory)
            assert directory.is_dir() and current_device_name() == "CPPStandaloneDevice"
            raise RuntimeError("boom")
    assert current_device_name() == "RuntimeDevice"
    assert not directory.exists()
    # the runtime still works afterwards
    assert simulate(small_net(duration="20 ms"), "numpy")["ff.w"].size == 90


def test_simulate_records_timings_and_flags():
    r = simulate(small_net(duration="50 ms"), "numpy")
    assert {"build_objects_s", "run_s", "total_s"} <= set(r.timings)
    assert r.compiler_flags["codegen.target"] == "numpy" and r.compiler_flags["backend"] == "numpy"


@pytest.mark.standalone
def test_two_cpp_builds_in_one_process_and_openmp_threads(tmp_path):
    """Two different networks built one after the other; the second with OpenMP (threads=2)."""
    a, b = small_net(seed=1, n_out=3), small_net(seed=2, n_out=4)
    ref_a, ref_b = simulate(a, "numpy"), simulate(b, "numpy")
    ra = simulate(a, "cpp")
    rb = simulate(b, "cpp", threads=2, directory=tmp_path / "b")
    for ref, r in ((ref_a, ra), (ref_b, rb)):
        assert r["ff.w"].shape == ref["ff.w"].shape
        np.testing.assert_allclose(r["ff.w"], ref["ff.w"], rtol=1e-6, atol=0)
        np.testing.assert_array_equal(r["out.spikes.i"], ref["out.spikes.i"])
        assert np.max(np.abs(ref["ff.w"] - ref["ff.w"].mean())) > 0  # not a constant array
        assert r.timings["compile.make_s"] > 0 and "run_binary_s" in r.timings
    assert ra.compiler_flags["openmp_threads"] == 0 and "-fopenmp" not in ra.compiler_flags["makefile.LFLAGS"]
    assert rb.compiler_flags["openmp_threads"] == 2 and "-fopenmp" in rb.compiler_flags["makefile.LFLAGS"]
    # the second build lives in the directory given; the first one's temporary directory is gone
    assert (tmp_path / "b" / "makefile").exists() and (tmp_path / "b" / "main").exists()
    assert current_device_name() == "RuntimeDevice"


# --------------------------------------------------------------------------- CUDA code generation (no GPU)

class _Prefs:
    """Stand-in for brian2.prefs with only the keys the C++17 fix touches."""

    class _NS:
        pass

    def __init__(self):
        self.devices = self._NS()
        self.devices.cuda_standalone = self._NS()
        self.devices.cuda_standalone.cuda_backend = self._NS()
        self.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc = ["-w", "-use_fast_math"]
        self.codegen = self._NS()
        self.codegen.cpp = self._NS()
        self.codegen.cpp.extra_compile_args_gcc = ["-w", "-O3", "-std=c++11"]


def test_cuda_cpp17_fix_is_idempotent():
    p = _Prefs()
    apply_cuda_cpp17_fix(p)
    apply_cuda_cpp17_fix(p)
    assert p.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc == ["-w", "-use_fast_math", "-std=c++17"]
    assert p.codegen.cpp.extra_compile_args_gcc == ["-w", "-O3", "-std=c++17"]


def test_cuda_project_generated_without_gpu(tmp_path):
    """cuda code generation (no nvcc run, no GPU): .cu files, makefile, and -std=c++17 last."""
    try:
        check_backend("cuda", compile=False)
    except BackendUnavailable as exc:
        pytest.skip(exc.reason)
    from brian2 import defaultclock, prefs

    from bioplaus.build import build_network

    spec = small_net(duration="20 ms")
    out = tmp_path / "cuda_project"
    with session("cuda", directory=out, compile=False, seed=spec.seed) as s:
        assert current_device_name() == "CUDAStandaloneDevice"
        assert prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc[-1] == "-std=c++17"
        assert "-std=c++11" not in prefs.codegen.cpp.extra_compile_args_gcc
        defaultclock.dt = spec.dt
        built = build_network(spec)
        built.network.run(spec.duration)
        s.finish()
    cu = sorted(p.name for p in out.rglob("*.cu"))
    assert {"main.cu", "network.cu", "objects.cu", "run.cu"} <= set(cu)
    assert any(name.startswith("ff_") for name in cu)  # the STDP synapses' kernels
    makefile = (out / "makefile").read_text()
    nvccflags = next(line for line in makefile.splitlines() if line.startswith("NVCCFLAGS"))
    # brian2cuda writes -std=c++11 itself; the later -std=c++17 wins
    assert nvccflags.rindex("-std=c++17") > nvccflags.find("-std=c++11")
    assert "-arch=sm_90" in nvccflags
    assert s.compiler_flags["makefile.NVCCFLAGS"].endswith(nvccflags.split("=", 1)[1].strip()[-20:])
    assert "codegen_s" in s.timings and not (out / "main").exists()  # nothing compiled
    # everything is reset afterwards
    assert current_device_name() == "RuntimeDevice"
    assert prefs.devices.cuda_standalone.cuda_backend.detect_gpus is True
    assert "-std=c++17" not in prefs.codegen.cpp.extra_compile_args_gcc


def test_gpu_selection_reaches_the_generated_project(tmp_path, monkeypatch):
    """session(gpu=1) -> cudaSetDevice(1) in main.cu; $BIOPLAUS_GPU is the default."""
    try:
        check_backend("cuda", compile=False)
    except BackendUnavailable as exc:
        pytest.skip(exc.reason)
    from brian2 import defaultclock

    from bioplaus.build import build_network

    monkeypatch.setattr(backends, "_gpu_list", lambda: ["GPU 0: A", "GPU 1: B"])
    spec = small_net(duration="5 ms")
    for kw, env, want in (({"gpu": 1}, None, 1), ({}, "1", 1), ({}, None, 0)):
        if env is None:
            monkeypatch.delenv(backends.GPU_ENV, raising=False)
        else:
            monkeypatch.setenv(backends.GPU_ENV, env)
        out = tmp_path / f"p{len(list(tmp_path.iterdir()))}"
        with session("cuda", directory=out, compile=False, seed=spec.seed, **kw) as s:
            defaultclock.dt = spec.dt
            build_network(spec).network.run(spec.duration)
            s.finish()
        assert s.compiler_flags["gpu_id"] == want
        assert f"cudaSetDevice({want})" in (out / "main.cu").read_text()


def test_bad_gpu_index_names_its_source(monkeypatch):
    monkeypatch.setattr(backends, "_gpu_list", lambda: ["GPU 0: NVIDIA H100"])
    monkeypatch.delenv(backends.GPU_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"gpu = 2: expected an index below 1 \(GPUs here: GPU 0: NVIDIA H100\)"):
        backends.gpu_index(2)
    with pytest.raises(ConfigError, match="gpu = -1"):
        backends.gpu_index(-1)
    monkeypatch.setenv(backends.GPU_ENV, "first")
    with pytest.raises(ConfigError, match="BIOPLAUS_GPU = 'first'"):
        backends.gpu_index()
    with pytest.raises(ConfigError, match="BIOPLAUS_GPU = 'first'"):
        with session("cuda", compile=False):
            pass
    monkeypatch.setattr(backends, "_gpu_list", lambda: None)   # no driver: the index cannot be checked here
    assert backends.gpu_index("3") == 3
    monkeypatch.setenv(backends.GPU_ENV, "1")
    with session("numpy"):   # other backends ignore it
        pass


def test_cli_gpu_option(monkeypatch, capsys):
    from bioplaus.cli import main

    monkeypatch.setattr(backends, "_gpu_list", lambda: ["GPU 0: A"])
    assert main(["run", "stdp_window", "--gpu", "4"]) == 2
    assert "gpu = 4: expected an index below 1" in capsys.readouterr().err


# --------------------------------------------------------------------------- bioplaus info

def test_info_command_prints_versions_tools_and_backends(capsys):
    from bioplaus.cli import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for word in ("bioplaus 0.1.0", "python", "brian2      2.10.1", "numpy", "brian2cuda", "compiler", "nvcc",
                 "gpu", "backend  status"):
        assert word in out, word
    lines = {line.split()[0]: line for line in out.splitlines()[-4:]}
    assert set(lines) == {"numpy", "cython", "cpp", "cuda"}
    assert lines["numpy"].split()[1] == "ok"


def test_info_command_gives_reasons(monkeypatch, capsys):
    import json

    from bioplaus.cli import main

    monkeypatch.setattr(backends, "_compiler", lambda: None)
    monkeypatch.setitem(sys.modules, "brian2cuda", None)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "cpp      unavailable: no C++ compiler found (install g++ or set CXX)" in out
    assert "cuda     unavailable: brian2cuda is not installed" in out
    assert "compiler    not found" in out
    assert main(["info", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backends"]["numpy"] == "ok" and "compiler" in report["backends"]["cython"]


def test_simulate_and_load_are_functions_of_the_package_and_doc_examples_run():
    import doctest
    import types

    import bioplaus
    import bioplaus.loader
    import bioplaus.simulation as simulate_module
    import bioplaus.spec.neurons as neurons_module
    from bioplaus import simulate as simulate_from_package

    # importing the modules must not rebind the package's functions to modules
    r = simulate_from_package(small_net(duration="10 ms"))
    assert r.backend == "numpy" and bioplaus.simulate is simulate_module.simulate
    assert isinstance(bioplaus.simulate, types.FunctionType) and isinstance(bioplaus.load, types.FunctionType)
    assert bioplaus.load is bioplaus.loader.load
    for mod in (simulate_module, neurons_module):
        assert doctest.testmod(mod).failed == 0
