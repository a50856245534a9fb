"""Where a network runs: device choice and lifecycle, nothing more.

==========  =============================================================
``numpy``   Brian2 runtime, numpy code generation (no compiler needed)
``cython``  Brian2 runtime, Cython code generation (compiled on first use)
``cpp``     Brian2 ``cpp_standalone``: C++ code generation, optional OpenMP
``cuda``    brian2cuda ``cuda_standalone``: CUDA code generation (needs a GPU)
==========  =============================================================

Standalone builds each get their own directory and the device is reset after
each build, so one process can build several networks one after the other::

    with session("cpp", threads=2) as s:
        built = build_network(spec)
        built.network.run(spec.duration)
        s.finish()                 # generate, compile, run
        weights = built.weights("ff")

What a backend needs is checked before Brian2 is touched: a missing compiler,
``make``, brian2cuda, ``nvcc`` or GPU raises :class:`~bioplaus.errors.BackendUnavailable`
naming what is missing (:func:`check_backend`, :func:`availability`).

``session("cuda", compile=False, directory=...)`` generates the CUDA project
(``.cu`` files and makefile, with the C++17 fix of :func:`apply_cuda_cpp17_fix`)
without ``nvcc`` or a GPU, for inspecting the generated code on any machine.
"""
from __future__ import annotations

import contextlib
import copy
import importlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import BackendUnavailable, ConfigError, did_you_mean

__all__ = ["BACKENDS", "STANDALONE", "Session", "session", "check_backend", "availability", "environment",
           "apply_cuda_cpp17_fix", "gpu_index", "GPU_ENV"]

BACKENDS = ("numpy", "cython", "cpp", "cuda")
STANDALONE = ("cpp", "cuda")

#: compute capability assumed when CUDA code is generated without a GPU (H100)
DEFAULT_COMPUTE_CAPABILITY = 9.0


def _validate(name: str) -> str:
    if name not in BACKENDS:
        raise ConfigError("backend", name, "one of " + ", ".join(BACKENDS) + did_you_mean(str(name), BACKENDS))
    return name


# --------------------------------------------------------------------------- probes (monkeypatched in tests)

def _compiler() -> str | None:
    """Path of the C++ compiler Brian2 will use (``$CXX``, else g++/c++/clang++)."""
    for cc in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if cc and shutil.which(cc):
            return shutil.which(cc)
    return None


def _make() -> str | None:
    """``make`` runs the generated standalone projects on Unix."""
    if sys.platform == "win32":  # pragma: no cover - Brian2 uses MSVC's nmake there
        return shutil.which("nmake") or "nmake"
    return shutil.which("make")


def _cython_version() -> str | None:
    try:
        import Cython
    except ImportError:
        return None
    return getattr(Cython, "__version__", "unknown")


def _brian2cuda() -> tuple[Any | None, str]:
    """``(module, "")`` or ``(None, why it cannot be imported)``."""
    try:
        mod = importlib.import_module("brian2cuda")
    except ImportError as exc:
        if getattr(exc, "name", None) == "brian2cuda" or "brian2cuda" in str(exc):
            return None, "brian2cuda is not installed (pip install 'bioplaus[cuda]')"
        return None, f"brian2cuda cannot be imported ({exc})"
    except Exception as exc:  # a broken install must not become a traceback
        return None, f"brian2cuda cannot be imported ({type(exc).__name__}: {exc})"
    return mod, ""


def _nvcc() -> str | None:
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH") or "/usr/local/cuda"
    cand = Path(cuda_home, "bin", "nvcc")
    return shutil.which("nvcc") or (str(cand) if cand.exists() else None)


def _gpu_probe() -> tuple[list[str] | None, str]:
    """``nvidia-smi -L``: its GPU lines (``[]`` when it lists none), or ``None`` and why it cannot be asked."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None, "no CUDA GPU: nvidia-smi not found (no NVIDIA driver)"
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"no CUDA GPU: nvidia-smi failed ({exc})"
    if out.returncode != 0:
        return None, "no CUDA GPU: nvidia-smi -L lists none"
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip().startswith("GPU")], ""


def _gpu_list() -> list[str] | None:
    """Lines of ``nvidia-smi -L`` (one per visible GPU), or ``None`` when it cannot be asked."""
    return _gpu_probe()[0]


#: environment variable selecting the GPU of the ``cuda`` backend (``session(gpu=...)`` wins)
GPU_ENV = "BIOPLAUS_GPU"


def gpu_index(gpu: Any = None) -> int | None:
    """The GPU the ``cuda`` backend should use: ``gpu``, else ``$BIOPLAUS_GPU``, else ``None``.

    ``None`` leaves the choice to brian2cuda (the first GPU of ``CUDA_VISIBLE_DEVICES``
    order). An index that is not a whole number >= 0, or is not below the number of GPUs
    that ``nvidia-smi -L`` lists, raises :class:`ConfigError` naming the field it came from.
    """
    field = "gpu"
    if gpu is None:
        env = os.environ.get(GPU_ENV, "").strip()
        if not env:
            return None
        gpu, field = env, GPU_ENV
    text = str(gpu).strip()
    if isinstance(gpu, bool) or not text.isdigit():
        raise ConfigError(field, gpu, "a GPU index >= 0 (nvidia-smi -L lists the GPUs)")
    index = int(text)
    gpus = _gpu_list()
    if gpus is not None and index >= len(gpus):
        listed = "; ".join(gpus) if gpus else "none"
        raise ConfigError(field, index, f"an index below {len(gpus)} (GPUs here: {listed})")
    return index


def _gpu_present() -> tuple[bool, str]:
    """``(True, "GPU 0: <name> ...")`` or ``(False, why no GPU is usable)``."""
    gpus, why = _gpu_probe()
    if gpus is None:
        return False, why
    if not gpus:
        return False, "no CUDA GPU: nvidia-smi -L lists none"
    return True, gpus[0]


def _first_line(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [ln for ln in (out.stdout or out.stderr).splitlines() if ln.strip()]
    return lines[0].strip() if lines else None


def _nvcc_release(nvcc: str) -> str | None:
    try:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"release ([0-9.]+)", out)
    return m.group(1) if m else None


# --------------------------------------------------------------------------- checks

def check_backend(name: str, *, need_gpu: bool = True, compile: bool = True) -> None:
    """Raise :class:`BackendUnavailable` naming what is missing for ``name``.

    ``compile=False`` checks only what code generation needs (for ``cuda``:
    brian2cuda, but neither ``nvcc`` nor a GPU); ``need_gpu=False`` skips the GPU check.
    """
    _validate(name)
    if name == "numpy":
        return
    if name in ("cython", "cpp") and compile and _compiler() is None:
        raise BackendUnavailable(name, "no C++ compiler found (install g++ or set CXX)")
    if name == "cython" and _cython_version() is None:
        raise BackendUnavailable(name, "Cython is not installed (pip install cython)")
    if name == "cpp" and compile and _make() is None:
        raise BackendUnavailable(name, "'make' not found (needed to build the generated C++ project)")
    if name == "cuda":
        mod, why = _brian2cuda()
        if mod is None:
            raise BackendUnavailable(name, why)
        if not compile:
            return
        if _nvcc() is None:
            raise BackendUnavailable(name, "nvcc not found (install the CUDA toolkit or set CUDA_HOME)")
        if _compiler() is None:
            raise BackendUnavailable(name, "no C++ host compiler found for nvcc (install g++ or set CXX)")
        if need_gpu:
            ok, why = _gpu_present()
            if not ok:
                raise BackendUnavailable(name, why)


def availability() -> dict[str, str]:
    """``{backend: "ok" or the reason it is unavailable}`` (shown by ``bioplaus info``)."""
    out = {}
    for b in BACKENDS:
        try:
            check_backend(b)
            out[b] = "ok"
        except BackendUnavailable as exc:
            out[b] = exc.reason
    return out


def environment() -> dict[str, str | None]:
    """Versions and tools relevant to the backends (``None`` where absent), for provenance and ``info``."""
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    def ver(pkg: str) -> str | None:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    cxx = _compiler()
    nvcc = _nvcc()
    gpu_ok, gpu = _gpu_present()
    return {
        "bioplaus": __version__,
        "python": platform.python_version(),
        "brian2": ver("brian2"),
        "numpy": ver("numpy"),
        "cython": ver("cython") or _cython_version(),
        "brian2cuda": ver("brian2cuda"),
        "platform": platform.platform(),
        "compiler": f"{cxx} ({_first_line([cxx, '--version']) or 'version unknown'})" if cxx else None,
        "make": _make(),
        "nvcc": f"{nvcc} (CUDA {_nvcc_release(nvcc) or 'version unknown'})" if nvcc else None,
        "gpu": gpu if gpu_ok else None,
        "gpu_reason": None if gpu_ok else gpu,
    }


def apply_cuda_cpp17_fix(prefs) -> None:
    """brian2cuda 1.0b1 hard-codes ``-std=c++11``; CUDA >= 12's CCCL needs C++17.

    Appending ``-std=c++17`` to the nvcc flags (the later flag wins) and replacing
    ``c++11`` in the host compiler flags makes it build (verified on CUDA 13.0).
    Idempotent.
    """
    nvcc_args = list(prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc)
    if "-std=c++17" not in nvcc_args:
        nvcc_args.append("-std=c++17")
    prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc = nvcc_args
    gcc = [a.replace("c++11", "c++17") for a in prefs.codegen.cpp.extra_compile_args_gcc]
    if not any(a.startswith("-std=") for a in gcc):
        gcc.append("-std=c++17")
    prefs.codegen.cpp.extra_compile_args_gcc = gcc


# --------------------------------------------------------------------------- session

@dataclass
class Session:
    """An active backend. Build objects, call ``network.run(...)``, then :meth:`finish`.

    ``compile=False`` (standalone only): :meth:`finish` generates the project in
    ``directory`` without compiling or running it.
    """

    backend: str
    directory: str | None = None
    threads: int | None = None
    compile: bool = True
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

        from .progress import fmt_seconds, step

        what = "CUDA (cuda_standalone)" if self.backend == "cuda" else "C++ (cpp_standalone)"
        t0 = time.perf_counter()
        if not self.compile:
            with step(f"generating {what} code"):
                device.build(directory=self.directory, compile=False, run=False, with_output=False)
            self._built = True
            self.timings["codegen_s"] = time.perf_counter() - t0
            self.compiler_flags.update(makefile_flags(self.directory))
            return
        with step(f"compiling {what}" + (" and running it" if run else "")) as announced:
            device.build(directory=self.directory, compile=True, run=run, with_output=False,
                         **({"run_args": run_args} if run_args else {}))
            phases = _standalone_timings(device)
            total = time.perf_counter() - t0
            comp = phases.get("compile.make_s", 0.0) + phases.get("compile.clean_s", 0.0)
            ran = phases.get("run_binary_s", 0.0)
            announced.done(f"{fmt_seconds(total)} (code generation {fmt_seconds(max(0.0, total - comp - ran))}, "
                           f"compiler {fmt_seconds(comp)}" + (f", run {fmt_seconds(ran)})" if run else ")"))
        self._built = True
        self.timings["build_and_run_s"] = time.perf_counter() - t0
        self.timings.update(_standalone_timings(device))
        self.compiler_flags.update(makefile_flags(self.directory))

    def rerun(self, run_args: dict | None = None) -> float:
        """Rerun an already compiled standalone binary with new ``run_args`` (no recompilation)."""
        from brian2 import device

        t0 = time.perf_counter()
        device.run(run_args=run_args or {}, with_output=False)
        return time.perf_counter() - t0


def _standalone_timings(device) -> dict[str, float]:
    """Brian2's own phase timers (``compile.make_s``, ``run_binary_s``...) as a flat dict."""
    out: dict[str, float] = {}
    timers = getattr(device, "timers", None)
    if not isinstance(timers, dict):
        return out
    for phase, val in timers.items():
        if isinstance(val, dict):
            for k, v in val.items():
                if isinstance(v, (int, float)):
                    out[f"{phase}.{k}_s"] = float(v)
        elif isinstance(val, (int, float)):
            out[f"{phase}_s"] = float(val)
    return out


_MAKE_VARS = ("CC", "CXX", "NVCC", "CXXFLAGS", "CFLAGS", "NVCCFLAGS", "LFLAGS", "OPTIMISATIONS")


def makefile_flags(directory: str | os.PathLike | None) -> dict[str, str]:
    """The compiler variables of a generated standalone makefile (``{"makefile.CXXFLAGS": ...}``)."""
    if directory is None:
        return {}
    mk = Path(directory, "makefile")
    if not mk.exists():
        return {}
    out = {}
    for line in mk.read_text(errors="replace").splitlines():
        m = re.match(r"^([A-Z_]+)\s*:?=\s*(.*)$", line)
        if m and m.group(1) in _MAKE_VARS:
            out[f"makefile.{m.group(1)}"] = m.group(2).strip()
    return out


def _threads(backend: str, threads: Any) -> int | None:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ConfigError("threads", threads, "an integer >= 0 (OpenMP threads of the cpp backend; 0 = off)")
    return threads


def _pref_snapshot(prefs) -> dict[str, Any]:
    return {k: copy.deepcopy(prefs[k]) for k in list(prefs)}


def _pref_restore(prefs, snapshot: dict[str, Any]) -> None:
    for k, v in snapshot.items():
        try:
            if prefs[k] != v:
                prefs[k] = v
        except Exception:  # pragma: no cover - a preference that refuses its old value
            pass


@contextlib.contextmanager
def session(backend: str = "numpy", *, directory: str | os.PathLike | None = None, threads: int | None = None,
            seed: int | None = None, compile: bool = True, compute_capability: float | None = None,
            gpu: int | None = None, device_options: dict | None = None) -> Iterator[Session]:
    """Activate ``backend`` for the duration of the block.

    Parameters
    ----------
    backend : ``"numpy"``, ``"cython"``, ``"cpp"`` or ``"cuda"``
    directory : path, optional
        Standalone build directory. Default: a fresh temporary directory, deleted at the
        end of the block (kept if the environment variable ``BIOPLAUS_KEEP_BUILD`` is set).
    threads : int, optional
        OpenMP threads of the ``cpp`` backend (0 or ``None``: no OpenMP). Other backends ignore it.
    seed : int, optional
        Passed to ``brian2.seed`` (random numbers drawn in generated code).
    compile : bool
        ``False`` (standalone only): :meth:`Session.finish` generates the project without
        compiling or running it; for ``cuda`` neither ``nvcc`` nor a GPU is needed then, and
        the code targets ``compute_capability`` (default 9.0).
    gpu : int, optional
        ``cuda`` only: index of the GPU to run on (as ``nvidia-smi -L`` numbers them); default
        ``$BIOPLAUS_GPU``, else brian2cuda's choice (:func:`gpu_index`). Other backends ignore it.
    device_options : dict, optional
        Extra keyword arguments of ``brian2.set_device``.

    The device is reset at the end of the block, so the next block can build another
    network in the same process. Everything the backend needs is checked first
    (:func:`check_backend`): a missing piece raises :class:`BackendUnavailable`.
    """
    _validate(backend)
    threads = _threads(backend, threads)
    if not compile and backend not in STANDALONE:
        raise ConfigError("compile", compile, f"True for the {backend!r} backend (only cpp and cuda can "
                          "generate a project without compiling it)")
    gpu = gpu_index(gpu) if backend == "cuda" else None
    check_backend(backend, compile=compile)
    import brian2
    from brian2 import device, prefs, set_device

    if backend == "cuda":
        import brian2cuda  # noqa: F401  (registers the device and its preferences)
        from brian2cuda.utils.gputools import reset_gpu_selection

        reset_gpu_selection()   # brian2cuda caches its choice per process; this session may pick another
    snapshot = _pref_snapshot(prefs)
    tmp = None
    if backend in STANDALONE and directory is None:
        tmp = tempfile.mkdtemp(prefix=f"bioplaus_{backend}_")
        directory = tmp
    s = Session(backend=backend, directory=str(directory) if directory is not None else None, threads=threads,
                compile=compile)
    activated = False
    try:
        if backend in ("numpy", "cython"):
            set_device("runtime")
            prefs.codegen.target = backend
        elif backend == "cpp":
            prefs.devices.cpp_standalone.openmp_threads = int(threads or 0)
            set_device("cpp_standalone", directory=s.directory, build_on_run=False, **(device_options or {}))
        else:  # cuda
            apply_cuda_cpp17_fix(prefs)
            if not compile:
                cc = DEFAULT_COMPUTE_CAPABILITY if compute_capability is None else float(compute_capability)
                prefs.devices.cuda_standalone.cuda_backend.detect_gpus = False
                prefs.devices.cuda_standalone.cuda_backend.gpu_id = gpu or 0
                prefs.devices.cuda_standalone.cuda_backend.compute_capability = cc
                if prefs.devices.cuda_standalone.cuda_backend.cuda_runtime_version is None and _nvcc() is None:
                    prefs.devices.cuda_standalone.cuda_backend.cuda_runtime_version = 13.0
            else:
                if gpu is not None:   # brian2cuda detects this GPU's compute capability
                    prefs.devices.cuda_standalone.cuda_backend.gpu_id = gpu
                if compute_capability is not None:
                    prefs.devices.cuda_standalone.cuda_backend.compute_capability = float(compute_capability)
            set_device("cuda_standalone", directory=s.directory, build_on_run=False, **(device_options or {}))
        activated = True
        if seed is not None:
            brian2.seed(seed)
        s.compiler_flags = {"backend": backend, "codegen.target": prefs.codegen.target}
        if backend != "numpy":
            s.compiler_flags["compiler"] = _compiler()
            s.compiler_flags["extra_compile_args_gcc"] = list(prefs.codegen.cpp.extra_compile_args_gcc)
        if backend == "cpp":
            s.compiler_flags["openmp_threads"] = prefs.devices.cpp_standalone.openmp_threads
        if backend == "cuda":
            s.compiler_flags["nvcc"] = _nvcc()
            s.compiler_flags["gpu_id"] = prefs.devices.cuda_standalone.cuda_backend.gpu_id
            s.compiler_flags["extra_compile_args_nvcc"] = list(
                prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc)
        yield s
    finally:
        if backend in STANDALONE and activated:
            try:
                device.reinit()
                device.activate(build_on_run=True)
            except Exception:  # pragma: no cover - best effort reset
                pass
        set_device("runtime")
        _pref_restore(prefs, snapshot)
        if tmp is not None and not os.environ.get("BIOPLAUS_KEEP_BUILD"):
            shutil.rmtree(tmp, ignore_errors=True)
