"""A study of one's own: a LIF neuron's firing rate against the closed form.

Run it like a shipped model (``bioplaus run models/lif_rate.toml``) and sweep its
parameters (``bioplaus sweep models/lif_rate.toml --grid params.current=0.3nA,0.4nA``).
"""
import math
from dataclasses import dataclass

from brian2 import ms, nA, second

from bioplaus import LIF, Monitor, NetworkSpec, Population
from bioplaus.experiments import Experiment, ExperimentParams, ExperimentResult
from bioplaus.spec.params import param


class LifRate(Experiment):
    """Rate of a LIF neuron under a constant current, simulated and analytic."""

    @dataclass(frozen=True)
    class Params(ExperimentParams):
        current: str = param("0.4 nA", unit=nA, doc="constant input current")
        t_ref: str = param("2 ms", unit=ms, nonnegative=True, doc="refractory period")
        duration: str = param("2 s", unit=ms, positive=True, doc="simulated time")

    def network(self, p, ctx):        # the network run() simulates: sweeps on cpp share one build
        return NetworkSpec([Population("lif", LIF(I_ext=p.current, t_ref=p.t_ref), 1)],
                           monitors=[Monitor("lif", ("spikes",))], duration=p.duration, seed=ctx.seed)

    def run(self, p, ctx):
        net = self.network(p, ctx)
        r = ctx.simulate(net)
        cell = net.populations[0].model
        rate = len(r["lif.spikes.t"]) / float(p.duration / second)
        v_inf = cell.E_L + p.current / cell.g_L                 # steady-state voltage without spiking
        theory = 0.0
        if v_inf > cell.V_th:                                    # T = t_ref + tau ln((V_inf-V_reset)/(V_inf-V_th))
            T = p.t_ref + cell.C_m / cell.g_L * math.log((v_inf - cell.V_reset) / (v_inf - cell.V_th))
            theory = float(1 / T / (1 / second))
        row = {"current_nA": float(p.current / nA), "rate_Hz": rate, "theory_Hz": theory}
        return ExperimentResult(rows=[row], info={"rate_Hz": rate, "theory_Hz": theory},  # info: sweep columns
                                summary=f"rate {rate:.2f} Hz, theory {theory:.2f} Hz")
