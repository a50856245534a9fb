"""Count the collected tests by kind (oracle, cross-backend, behaviour, validation/plumbing).

    .venv/bin/python -m pytest --collect-only -q | .venv/bin/python benchmarks/count_tests.py

A test is classified by its file and name, first match wins: cross-backend (the backend
comparison files, or a cython/cpp/cuda parameter), oracle (compared with an independent
reference, formula or paper value), behaviour (a learning outcome, claim, bound or measurement),
validation/plumbing (everything else: errors, configuration, files, CLI, plots). Name-based,
so approximate: a test that does two things counts once.
"""
import re, sys, collections
CROSS_FILES = {"test_cross_backend.py", "test_gpu.py", "test_backends.py", "test_determinism.py"}
ORACLE = re.compile(r"oracle|reference|analytic|exact|equal|match|formula|paper|table|pfister|naud|izhikevich|"
                    r"diehl|song|bi_poo|brette|vogels|distribution|lecun|fan_in|scale|steady_state|f_i_curve|"
                    r"fixed_point|backprop|same_as|agree|reproduc|doctest|docstring")
BEHAVIOUR = re.compile(r"learn|selective|reduce|converge|find|credit|bound|clip|grow|claim|memoris|chance|"
                       r"competition|align|improv|beats|spike|fire|bimodal|adapt|burst|decay|depress|potentiat|"
                       r"separat|accura|seed|over_seeds|split|axis|summary_is|gap_to")
kinds = collections.Counter()
for line in sys.stdin:
    if "::" not in line:
        continue
    path, name = line.strip().split("::", 1)
    f = path.rsplit("/", 1)[-1]
    n = name.lower()
    if f in CROSS_FILES or re.search(r"\[(cython|cpp|cuda)\b", n) or "on_cpp" in n or "standalone" in n:
        kinds["cross-backend"] += 1
    elif ORACLE.search(n) or f == "test_science_presets.py":
        kinds["oracle"] += 1
    elif BEHAVIOUR.search(n) or f in ("test_science_bounds.py", "test_science_measurement.py"):
        kinds["behaviour"] += 1
    else:
        kinds["validation/plumbing"] += 1
for k in ("oracle", "cross-backend", "behaviour", "validation/plumbing"):
    print(f"{k:20s} {kinds[k]}")
print(f"{'total':20s} {sum(kinds.values())}")
