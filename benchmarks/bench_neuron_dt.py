"""Spike counts of the Izhikevich (2003) and AdEx (Naud et al. 2008) presets against the time step.

Both models are integrated by forward Euler (see :mod:`bioplaus.build.neurons`). Each preset
gets its paper protocol (:func:`bioplaus.experiments.zoo.firing_pattern_protocols`); the
table prints the spike count at each dt, with dt = 0.01 ms as the baseline, and the
largest dt whose count is within 10 % of the baseline (the recommended step).

    .venv/bin/python benchmarks/bench_neuron_dt.py [--backend cython]
"""
from __future__ import annotations

import argparse

from brian2 import ms

from bioplaus.experiments.zoo import firing_pattern_protocols, step_responses

DTS = (1.0, 0.5, 0.25, 0.1, 0.05, 0.01)


def counts(family: str, backend: str) -> dict[str, dict[float, int]]:
    out: dict[str, dict[float, int]] = {}
    for name, (model, segs, pulses, weight) in firing_pattern_protocols(family, baseline="0 ms").items():
        out[name] = {}
        for dt in DTS:
            tr = step_responses({name: model}, [(d, {name: c for n, c in cur.items() if n == name})
                                                for d, cur in segs],
                                dt=dt * ms, backend=backend, pulses={name: pulses} if pulses else None,
                                pulse_weight={name: weight} if weight is not None else None)
            out[name][dt] = int(tr[name]["spikes"].size)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="numpy")
    args = ap.parse_args()
    for family in ("izhikevich", "adex"):
        table = counts(family, args.backend)
        print(f"\n{family}: spike count per protocol (300 ms step) at dt (ms); baseline dt = {DTS[-1]} ms")
        print("| preset | " + " | ".join(f"{d:g}" for d in DTS)
              + " | count(1 ms)/count(0.1 ms) | largest dt within 10 % |")
        print("|---|" + "---|" * (len(DTS) + 2))
        for name, row in table.items():
            base = row[DTS[-1]]
            ok = [DTS[-1]]
            for d in reversed(DTS[:-1]):  # the largest dt below which every count stays within 10 %
                if abs(row[d] - base) > 0.1 * max(base, 1):
                    break
                ok.append(d)
            ratio = row[1.0] / row[0.1] if row[0.1] else float("nan")
            print(f"| {name} | " + " | ".join(str(row[d]) for d in DTS) + f" | {ratio:.2f} | {max(ok):g} ms |")


if __name__ == "__main__":
    main()
