"""Sweeps on a real Dask cluster (worker processes) give the local run's results."""
from __future__ import annotations

import json

import pytest

distributed = pytest.importorskip("distributed")

from bioplaus.sweep import expand_sweep, read_results, run_sweep  # noqa: E402


@pytest.mark.slow
def test_dask_cluster_results_equal_local_run(tmp_path):
    sweep = expand_sweep("oja_pca", {"params.eta": ["5 Hz", "20 Hz"]}, seeds=2, overrides=["params.n_samples=200"])
    run_sweep(sweep, tmp_path / "local", in_process=True, progress=lambda m: None)
    msgs: list[str] = []
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cl:
        rep = run_sweep(sweep, tmp_path / "dask", scheduler=cl.scheduler_address, progress=msgs.append)
    assert rep.ok and rep.counts == {"ok": 4}
    local, remote = read_results(tmp_path / "local"), read_results(tmp_path / "dask")
    assert len(remote) == 4
    for a, b in zip(local, remote):
        for col in ("point", "params.eta_Hz", "seed", "status", "cos_pc1", "norm"):
            assert a[col] == b[col], col
    # the files came back from the workers: the point directories are complete, marker last
    for p in sweep.points:
        d = tmp_path / "dask" / "points" / p.id
        assert {"config.toml", "metrics.csv", "arrays.npz", "provenance.json", "point.json"} <= {
            f.name for f in d.iterdir()}
        assert json.loads((d / "point.json").read_text())["status"] == "ok"
    # resuming on the cluster runs nothing more
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None) as cl:
        rep = run_sweep(sweep, tmp_path / "dask", scheduler=cl.scheduler_address, resume=True,
                        progress=msgs.append)
    assert rep.ran == 0 and len(read_results(tmp_path / "dask")) == 4
