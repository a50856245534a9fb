"""A study of one's own: a LIF neuron's firing rate against the closed form.

Run it like a shipped model (``bioplaus run models/lif_rate.toml``) and sweep its
parameters (``bioplaus sweep models/lif_rate.toml --grid params.current=0.3nA,0.4nA``).
"""
import math
from dataclasses import dataclass

from brian2 import ms, nA, second

from bioplaus import LIF, Monitor, NetworkSpec, Population, simulate
from bioplaus.experiments import Experiment, ExperimentParams, ExperimentResult
from bioplaus.spec.params import quantity, set_field


class LifRate(Experiment):
    """Rate of a LIF neuron under a constant current, simulated and analytic."""

    @dataclass(frozen=True)
    class Params(ExperimentParams):
        current: str = "0.4 nA"
        t_ref: str = "2 ms"
        duration: str = "2 s"

        def __post_init__(self):
            set_field(self, "current", quantity("params", "current", self.current, nA))
            set_field(self, "t_ref", quantity("params", "t_ref", self.t_ref, ms, nonnegative=True))
            set_field(self, "duration", quantity("params", "duration", self.duration, ms, positive=True))

    def run(self, p, ctx):
        cell = LIF(I_ext=p.current, t_ref=p.t_ref)
        net = NetworkSpec([Population("lif", cell, 1)], monitors=[Monitor("lif", ("spikes",))],
                          duration=p.duration, seed=ctx.seed)
        r = simulate(net, ctx.backend, threads=ctx.threads)
        rate = len(r["lif.spikes.t"]) / float(p.duration / second)
        v_inf = cell.E_L + p.current / cell.g_L                 # steady-state voltage without spiking
        theory = 0.0
        if v_inf > cell.V_th:                                    # T = t_ref + tau ln((V_inf-V_reset)/(V_inf-V_th))
            T = p.t_ref + cell.C_m / cell.g_L * math.log((v_inf - cell.V_reset) / (v_inf - cell.V_th))
            theory = float(1 / T / (1 / second))
        row = {"current_nA": float(p.current / nA), "rate_Hz": rate, "theory_Hz": theory}
        return ExperimentResult(rows=[row], info={"rate_Hz": rate, "theory_Hz": theory},  # info: sweep columns
                                summary=f"rate {rate:.2f} Hz, theory {theory:.2f} Hz")
