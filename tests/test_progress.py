"""Progress output: live on a terminal, one line per finished item otherwise, nothing under --quiet."""
from __future__ import annotations

import io
import re
import sys

import pytest

from bioplaus import progress
from bioplaus.cli import main


class Tty(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def not_quiet(monkeypatch):
    monkeypatch.delenv(progress.QUIET_ENV, raising=False)


def test_modes(monkeypatch):
    assert progress.mode(Tty()) == "live" and progress.mode(io.StringIO()) == "lines"
    with progress.nested():
        assert progress.mode(Tty()) == "quiet"
    with progress.quiet():
        assert progress.mode(Tty()) == "quiet"
    assert progress.mode(Tty()) == "live"  # restored


def test_step_live_announces_before_and_times_after():
    s = Tty()
    with progress.step("compiling C++ (cpp_standalone)", stream=s) as st:
        assert s.getvalue() == "compiling C++ (cpp_standalone)... "  # visible while it runs
        st.done("21 s (compiler 20 s)")
    assert s.getvalue() == "compiling C++ (cpp_standalone)... 21 s (compiler 20 s)\n"


def test_step_lines_one_line_at_the_end_and_quiet_nothing(monkeypatch):
    s = io.StringIO()
    with progress.step("generating C++ (cpp_standalone) code", stream=s):
        assert s.getvalue() == ""
    assert re.fullmatch(r"generating C\+\+ \(cpp_standalone\) code\.\.\. \d+\.\d s\n", s.getvalue())
    q = Tty()
    with progress.quiet(), progress.step("x", stream=q):
        pass
    assert q.getvalue() == ""
    f = io.StringIO()
    with pytest.raises(RuntimeError), progress.step("compiling", stream=f):
        raise RuntimeError("boom")
    assert f.getvalue().startswith("compiling... failed after")


def test_counter_counts_and_eta(monkeypatch):
    t = [100.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: t[0])
    s = io.StringIO()
    c = progress.Counter(4, stream=s)
    c.status("bp seed 0: epoch 3/30")          # not a terminal: nothing
    t[0] += 10.0
    c.done("bp seed 0 ok")
    t[0] += 10.0
    c.done("fa seed 0 ok")
    lines = s.getvalue().splitlines()
    assert lines == ["[1/4] bp seed 0 ok (ETA 30 s)", "[2/4] fa seed 0 ok (ETA 20 s)"]
    t[0] += 20.0
    c.done("x")
    c.done("y")
    assert s.getvalue().splitlines()[-1] == "[4/4] y (all 4 in 40 s)"
    live = Tty()
    c2 = progress.Counter(2, stream=live)
    c2.status("epoch 1/5")
    assert live.getvalue() == "\r[1/2] epoch 1/5\033[K"
    c2.done("ok")
    assert live.getvalue() == "\r[1/2] epoch 1/5\033[K\r[1/2] ok (ETA 0.0 s)\033[K\n"


def test_sim_report_only_on_terminals_and_after_a_while():
    assert progress.sim_report(stream=io.StringIO()) is None
    s = Tty()
    rep = progress.sim_report("simulating net (numpy)", stream=s, after=2.0)
    rep(0.5, 0.1, 0.0, 5.0)   # (elapsed s, completed, start s, duration s) as Brian2 calls it
    assert s.getvalue() == ""  # short runs stay silent
    rep(4.0, 0.25, 0.0, 5.0)
    assert "simulating net (numpy): 1.25 s of 5 s biological time (25 %), 4.0 s elapsed, ETA 12 s" in s.getvalue()
    rep(16.0, 1.0, 0.0, 5.0)
    assert s.getvalue().endswith("(100 %), 16 s elapsed\033[K\n")


def test_simulate_reports_simulated_time_on_a_terminal(monkeypatch):
    from bioplaus import LIF, Monitor, NetworkSpec, Population, simulate

    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(progress, "SIM_REPORT_AFTER_S", 0.0)
    net = NetworkSpec([Population("n", LIF(I_ext="0.3 nA"), 1)], monitors=[Monitor("n")], duration="50 ms")
    simulate(net, "numpy")
    out = tty.getvalue()
    assert "biological time" in out and "(100 %)" in out and "of 0.05 s" in out


def test_standalone_build_announces_itself(monkeypatch):
    """Session.finish wraps the build in a step and reports Brian2's phase times (device faked: no compiler run)."""
    import brian2

    from bioplaus.backends import Session

    class FakeDevice:
        timers = {}

        def build(self, **kw):
            self.timers = {"compile": {"clean": 0.1, "make": 3.2}, "run_binary": 0.4}

    monkeypatch.setattr(brian2, "device", FakeDevice())
    s = io.StringIO()
    monkeypatch.setattr(sys, "stderr", s)
    Session("cpp").finish()
    assert re.fullmatch(r"compiling C\+\+ \(cpp_standalone\) and running it\.\.\. \d+\.\d s "
                        r"\(code generation \d+\.\d s, compiler 3\.3 s, run 0\.4 s\)\n", s.getvalue()), s.getvalue()
    s.truncate(0), s.seek(0)
    with progress.nested():
        Session("cuda").finish()
    assert s.getvalue() == ""


def test_cli_compare_lines_and_quiet(tmp_path, capsys):
    args = ["compare", "--dataset", "xor", "--rules", "bp,fa", "--hidden", "4", "--epochs", "2", "--seeds", "2"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    counted = [ln for ln in err.splitlines() if re.match(r"\[\d/4\] ", ln)]
    assert len(counted) == 4 and "(ETA" in counted[0] and "(all 4 in" in counted[-1]
    assert "\r" not in err                    # not a terminal: nothing updated in place
    assert main([*args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert "[1/4]" not in capsys.readouterr().err
    assert progress.QUIET_ENV not in __import__("os").environ  # --quiet ends with the command


def test_cli_sweep_counts_and_quiet(tmp_path, capsys):
    args = ["sweep", "oja_pca", "--grid", "params.eta=5 Hz,20 Hz", "--set", "params.n_samples=100", "--in-process"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"\[1/2\] p0000-\S+ ok .*\(ETA ", err) and "[2/2]" in err
    assert main([*args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert "[1/2]" not in capsys.readouterr().err
