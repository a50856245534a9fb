"""Where a network runs: device choice and lifecycle, nothing more.

==========  =============================================================
``numpy``   Brian2 runtime, numpy code generation (no compiler needed)
``cython``  Brian2 runtime, Cython code generation (compiled on first use)
``cpp``     Brian2 ``cpp_standalone``: C++ code generation, optional OpenMP
``cuda``    brian2cuda ``cuda_standalone``: CUDA code generation (needs a GPU)
==========  =============================================================

Standalone builds each get their own directory and the device is reset after
each build, so one process can build several networks.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import BackendUnavailable, ConfigError, did_you_mean

__all__ = ["BACKENDS", "Session", "session", "check_backend", "availability", "apply_cuda_cpp17_fix"]

BACKENDS = ("numpy", "cython", "cpp", "cuda")
STANDALONE = ("cpp", "cuda")


def _validate(name: str) -> str:
    if name not in BACKENDS:
        raise ConfigError("backend", name, "one of " + ", ".join(BACKENDS) + did_you_mean(str(name), BACKENDS))
    return name


def _compiler() -> str | None:
    for cc in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if cc and shutil.which(cc):
            return shutil.which(cc)
    return None


def _nvcc() -> str | None:
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    return shutil.which("nvcc") or (str(Path(cuda_home, "bin", "nvcc")) if Path(cuda_home, "bin", "nvcc").exists() else None)


def _gpu_present() -> tuple[bool, str]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False, "no NVIDIA driver (nvidia-smi not found)"
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"nvidia-smi failed: {exc}"
    if out.returncode != 0 or "GPU" not in out.stdout:
        return False, "no CUDA GPU visible (nvidia-smi -L lists none)"
    return True, out.stdout.strip().splitlines()[0]


def check_backend(name: str, *, need_gpu: bool = True) -> None:
    """Raise :class:`BackendUnavailable` naming what is missing for ``name``."""
    _validate(name)
    if name == "numpy":
        return
    if name in ("cython", "cpp") and _compiler() is None:
        raise BackendUnavailable(name, "no C++ compiler found (install g++ or set CXX)")
    if name == "cython":
        try:
            import Cython  # noqa: F401
        except ImportError:
            raise BackendUnavailable(name, "Cython is not installed (pip install cython)") from None
    if name == "cuda":
        try:
            import brian2cuda  # noqa: F401
        except ImportError:
            raise BackendUnavailable(name, "brian2cuda is not installed (pip install 'bioplaus[cuda]')") from None
        if _nvcc() is None:
            raise BackendUnavailable(name, "nvcc not found (install the CUDA toolkit or set CUDA_HOME)")
        if need_gpu:
            ok, why = _gpu_present()
            if not ok:
                raise BackendUnavailable(name, why)


def availability() -> dict[str, str]:
    """``{backend: "ok" or the reason it is unavailable}`` for ``bioplaus info``."""
    out = {}
    for b in BACKENDS:
        try:
            check_backend(b)
            out[b] = "ok"
        except BackendUnavailable as exc:
            out[b] = exc.reason
    return out


def apply_cuda_cpp17_fix(prefs) -> None:
    """brian2cuda 1.0b1 hard-codes ``-std=c++11``; CUDA >= 12's CCCL needs C++17.

    Appending ``-std=c++17`` to the nvcc flags (the later flag wins) and replacing
    ``c++11`` in the host compiler flags makes it build (verified on CUDA 13.0).
    """
    nvcc_args = list(prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc)
    if "-std=c++17" not in nvcc_args:
        nvcc_args.append("-std=c++17")
    prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc = nvcc_args
    prefs.codegen.cpp.extra_compile_args_gcc = [a.replace("c++11", "c++17")
                                                for a in prefs.codegen.cpp.extra_compile_args_gcc]


@dataclass
class Session:
    """An active backend. Build objects, call ``network.run(...)``, then :meth:`finish`."""

    backend: str
    directory: str | None = None
    threads: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    compiler_flags: dict[str, Any] = field(default_factory=dict)
    _built: bool = False

    @property
    def standalone(self) -> bool:
        return self.backend in STANDALONE

    def finish(self, run: bool = True, run_args: dict | None = None) -> None:
        """Standalone: generate, compile and (optionally) run the code. Runtime: nothing to do."""
        if not self.standalone or self._built:
            return
        from brian2 import device

        t0 = time.perf_counter()
        device.build(directory=self.directory, compile=True, run=run, with_output=False,
                     **({"run_args": run_args} if run_args else {}))
        self._built = True
        self.timings["build_and_run_s"] = time.perf_counter() - t0
        self.timings.update({k: v for k, v in _standalone_timings(device).items()})

    def rerun(self, run_args: dict | None = None) -> float:
        """Rerun an already compiled standalone binary with new ``run_args`` (no recompilation)."""
        from brian2 import device

        t0 = time.perf_counter()
        device.run(run_args=run_args or {}, with_output=False)
        return time.perf_counter() - t0


def _standalone_timings(device) -> dict[str, float]:
    out = {}
    for attr in ("timers",):
        t = getattr(device, attr, None)
        if isinstance(t, dict):
            for phase, val in t.items():
                if isinstance(val, dict):
                    for k, v in val.items():
                        if isinstance(v, (int, float)) and v is not None:
                            out[f"{phase}.{k}_s"] = float(v)
    return out


@contextlib.contextmanager
def session(backend: str = "numpy", *, directory: str | os.PathLike | None = None, threads: int | None = None,
            seed: int | None = None, device_options: dict | None = None) -> Iterator[Session]:
    """Activate ``backend`` for the duration of the block.

    For standalone backends a fresh build directory is used (a temporary one unless
    ``directory`` is given) and the device is reset afterwards, so the next block
    can build another network in the same process.
    """
    _validate(backend)
    check_backend(backend)
    import brian2
    from brian2 import device, prefs, set_device

    prefs_before = {k: prefs[k] for k in ("codegen.target", "devices.cpp_standalone.openmp_threads",
                                          "codegen.cpp.extra_compile_args_gcc")}
    tmp = None
    if backend in STANDALONE and directory is None:
        tmp = tempfile.mkdtemp(prefix=f"bioplaus_{backend}_")
        directory = tmp
    s = Session(backend=backend, directory=str(directory) if directory else None, threads=threads)
    try:
        if backend in ("numpy", "cython"):
            set_device("runtime")
            prefs.codegen.target = backend
        elif backend == "cpp":
            set_device("cpp_standalone", directory=s.directory, build_on_run=False, **(device_options or {}))
            prefs.devices.cpp_standalone.openmp_threads = int(threads or 0)
        else:  # cuda
            import brian2cuda  # noqa: F401  (registers the device)

            apply_cuda_cpp17_fix(prefs)
            set_device("cuda_standalone", directory=s.directory, build_on_run=False, **(device_options or {}))
        if seed is not None:
            brian2.seed(seed)
        s.compiler_flags = {
            "codegen.target": prefs.codegen.target,
            "extra_compile_args_gcc": list(prefs.codegen.cpp.extra_compile_args_gcc),
            "openmp_threads": prefs.devices.cpp_standalone.openmp_threads,
        }
        if backend == "cuda":
            s.compiler_flags["extra_compile_args_nvcc"] = list(
                prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc)
        yield s
    finally:
        if backend in STANDALONE:
            try:
                device.reinit()
                device.activate(build_on_run=True)
            except Exception:  # pragma: no cover - best effort reset
                pass
            set_device("runtime")
        for k, v in prefs_before.items():
            prefs[k] = v
        if tmp is not None and not os.environ.get("BIOPLAUS_KEEP_BUILD"):
            shutil.rmtree(tmp, ignore_errors=True)
