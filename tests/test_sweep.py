"""Sweep files: expansion (a product of lists, one index → one cell), validation with one-line
errors naming the field (before anything is submitted), and ``--dry-run`` of every shipped sweep."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from bench import sweep as sweepmod
from bench.cli import main
from bench.sweep import SweepError, from_dict

BASE = {"name": "t", "models": ["vae", "dcgan"], "datasets": ["digits", "shapes"], "seeds": [0, 1, 2],
        "grid": {"lr": [1e-4, 2e-4]}, "per_model": {"vae": {"grid": {"beta": [1.0, 4.0]}}}, "set": {"width": 8}}


def write(tmp_path: Path, data: dict, name: str = "t") -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_cells_are_the_product_in_documented_order() -> None:
    s = from_dict(BASE)
    cells = s.cells()
    # independent reference: itertools.product per model, seeds innermost
    expected = []
    for model in ["vae", "dcgan"]:
        grid = {"lr": [1e-4, 2e-4], **({"beta": [1.0, 4.0]} if model == "vae" else {})}
        points = [dict(zip(grid, v, strict=True)) for v in itertools.product(*grid.values())]
        for ds, hp, seed in itertools.product(["digits", "shapes"], points, [0, 1, 2]):
            expected.append((model, ds, seed, hp))
    assert len(cells) == len(s) == 2 * 4 * 3 + 2 * 2 * 3 == 36
    assert [(c.model, c.dataset, c.seed, c.hp) for c in cells] == expected
    assert [c.index for c in cells] == list(range(36))
    assert all(c.overrides == {"width": 8, **c.hp} for c in cells)
    # one integer picks one cell (a Slurm array task index)
    for i in (0, 7, 23, 35):
        assert s.cell(i) == cells[i]
    with pytest.raises(SweepError, match="out of range 0..35"):
        s.cell(36)


def test_defaults_five_seeds_and_stable_run_ids() -> None:
    s = from_dict({"models": ["vae"], "datasets": ["digits"], "steps": 30}, "x")
    assert s.seeds == [0, 1, 2, 3, 4] and s.protocols == ["fair"] and s.name == "x"
    ids = [s.run_spec(c).run_id() for c in s.cells()]
    assert len(set(ids)) == 5
    # the id depends on what changes results, not on where data live or the device
    again = from_dict({"models": ["vae"], "datasets": ["digits"], "steps": 30}, "x")
    assert [again.run_spec(c, device="cuda", data_root="/elsewhere").run_id() for c in again.cells()] == ids
    other = from_dict({"models": ["vae"], "datasets": ["digits"], "steps": 31}, "x")
    assert not set(ids) & {other.run_spec(c).run_id() for c in other.cells()}
    # round trip through the saved sweep.yaml layout
    assert from_dict(yaml.safe_load(s.to_yaml())).cells() == s.cells()


def test_per_dataset_steps_and_optional_metrics() -> None:
    s = from_dict({"models": ["vae"], "datasets": ["digits", "shapes"], "steps": {"digits": 10, "shapes": 20},
                   "eval": {"metrics": ["mse"], "optional_metrics": ["sharpness", "not_a_metric"]}})
    assert [s.run_spec(c).steps for c in s.cells()] == [10] * 5 + [20] * 5
    assert s.resolved_metrics() == ["mse", "sharpness"]  # the unregistered optional one is dropped


def test_per_model_steps_replace_the_sweeps_for_that_model_only() -> None:
    """``per_model.M.steps`` (one count or per dataset) replaces the sweep's ``steps`` for M; a dataset it
    does not name keeps the sweep's; the other models' runs (and run ids) are unchanged."""
    base = {"models": ["vae", "dcgan"], "datasets": ["digits", "shapes"], "seeds": [0], "steps": 40}
    plain = from_dict(base)
    s = from_dict({**base, "per_model": {"vae": {"steps": {"digits": 80}}}})
    got = {(c.model, c.dataset): s.run_spec(c).steps for c in s.cells()}
    assert got == {("vae", "digits"): 80, ("vae", "shapes"): 40, ("dcgan", "digits"): 40, ("dcgan", "shapes"): 40}
    ids = {c.model + c.dataset: s.run_spec(c).run_id() for c in s.cells()}
    old = {c.model + c.dataset: plain.run_spec(c).run_id() for c in plain.cells()}
    assert [k for k in ids if ids[k] != old[k]] == ["vaedigits"]
    assert from_dict(s.to_dict()).per_model == s.per_model  # round trip
    one = from_dict({**base, "per_model": {"dcgan": {"steps": 7}}})
    assert [one.run_spec(c).steps for c in one.cells()] == [40, 40, 7, 7]


@pytest.mark.parametrize(("patch", "field"), [
    ({"models": "vae"}, "'models': expected a list"),
    ({"seeds": 5}, "'seeds': expected a list"),
    ({"grid": {"lr": 0.1}}, "'grid.lr': expected a list"),
    ({"seeds": [0, 0]}, "'seeds': duplicate"),
    ({"datasets": []}, "'datasets': expected a non-empty list"),
    ({"steps": 0}, "'steps': bad value for steps: 0"),
    ({"stpes": 10}, "'stpes': unknown key"),
    ({"slurm": {"cpus_per_task": 0}}, "'slurm.cpus_per_task': must be >= 1"),
    ({"slurm": {"mem_gb": -4}}, "'slurm.mem_gb': must be a number > 0"),
    ({"slurm": {"time_min": 0}}, "'slurm.time_min': must be >= 1"),
    ({"slurm": {"gpus_per_node": -1}}, "'slurm.gpus_per_node': must be >= 0"),
    ({"slurm": {"runs_per_job": 0}}, "'slurm.runs_per_job': must be >= 1"),
    ({"slurm": {"runs_per_job": 2, "concurrent_runs": 3}}, "'slurm.concurrent_runs': must be <= runs_per_job = 2"),
    ({"slurm": {"gpu": 1}}, "'slurm.gpu': unknown key"),
    ({"local": {"parallel": 0}}, "'local.parallel': must be >= 1"),
    ({"protocol": "exact"}, "'protocol': unknown protocol"),
    ({"per_model": {"vae": {"steps": 0}}}, "'per_model.vae.steps': bad value for steps: 0"),
    ({"per_model": {"vae": {"steps": {"cifar10": 9}}}}, "'per_model.vae.steps.cifar10': 'cifar10' is not in"),
    ({"per_model": {"vae": {"stpes": 9}}}, "'per_model.vae.stpes': unknown key"),
])
def test_structure_errors_name_the_field(patch: dict, field: str) -> None:
    with pytest.raises(SweepError, match=field.replace("(", r"\(")) as info:
        from_dict({**BASE, **patch})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("patch", "field"), [
    ({"models": ["vae", "vea"]}, "'models': unknown model 'vea'"),
    ({"datasets": ["digit"]}, "'datasets': unknown dataset 'digit'"),
    ({"eval": {"metrics": ["fidd"]}}, "'eval.metrics': unknown metric 'fidd'"),
    ({"set": {"widht": 8}}, "'set.widht'"),
    ({"grid": {"lr": ["fast"]}}, "'grid.lr'"),
    ({"per_model": {"vae": {"grid": {"beta": [1.0, "x"]}}}}, "'per_model.vae.grid.beta'"),
])
def test_registry_and_value_errors_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture, patch: dict,
                                           field: str) -> None:
    path = write(tmp_path, {**BASE, **patch})
    out = tmp_path / "out"
    rc = main(["sweep", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and field in err, err
    assert not out.exists()  # nothing submitted, nothing written


def test_impossible_slurm_request_from_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, BASE)
    rc = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--executor", "slurm", "--dry-run", "--time-min", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and "'slurm.time_min': must be >= 1" in err and err.count("\n") == 1


SHIPPED = {  # cells = Σ_models datasets × grid points × seeds, counted by hand from the files
    "smoke": 2 * 1 * 5,
    "bench_quick": 7 * 1 * 5,
    "bench_standard": 11 * 1 * 5,
    "bench_paper": 11 * 1 * 5,
    "avae_table1": 7 * 5 * 5,
    "idvae_table1": 6 * 2 * 5,
    "avaes_table3": 4 * 1 * 5,
    "khan_table1": 2 * 1 * 5,
    "alphagan_sweep": 3 * 5 * (2 * 4 * 4 + 1 + 3 + 3 * 5),
    "modes_grid25": (4 + 2 * 2) * 1 * 5,
    "study_avae_table1": 7 * 1 * 5,
    "study_idvae_table1": 6 * 1 * 5,
    "study_avaes_table3": 4 * 1 * 5,
    "study_khan_table1": 2 * 1 * 5,
    "study_alphagan": 4 * 1 * 5,
    "fidelity4_readings": 3 * 1 * 5 + 2 * 1 * 5,  # vae-began at β_eff 1, 10, 100; avae lz_norm_stats fake, real
}


def test_every_shipped_sweep_is_tested() -> None:
    assert {p.stem for p in sweepmod.shipped()} == set(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_dry_run_of_shipped_sweeps(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["sweep", name, "--dry-run", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert f"sweep {name}: {SHIPPED[name]} runs; to run: {SHIPPED[name]}" in out
    # one matrix line per cell, + header and the summary lines
    assert sum(1 for ln in out.splitlines() if ln.split(" ")[0].isdigit()) == SHIPPED[name]
    assert not (tmp_path / name).exists()


def test_dry_run_shows_slurm_array_and_packing(tmp_path: Path, capsys: pytest.CaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no sinfo: a dry run on a laptop (test_slurm checks a real cluster)
    rc = main(["sweep", "smoke", "--dry-run", "--out", str(tmp_path), "--executor", "slurm", "--runs-per-job", "3",
               "--array-parallelism", "2", "--sbatch", "constraint=fast", "--partition", "debug"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "note: no sinfo here: the request was not checked against a cluster" in out
    assert "job array of 4 task(s) (3 run(s) per task, 1 at a time, 1 torch thread(s) per run)" in out  # ceil(10 / 3)
    assert "#SBATCH --array=0-3%2" in out and "#SBATCH --constraint=fast" in out
    assert "#SBATCH --partition=debug" in out and "#SBATCH --cpus-per-task=1" in out


def test_local_preflight_fails_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, {"models": ["vae"], "datasets": ["cifar10"], "steps": 5})
    empty = tmp_path / "no-data"
    empty.mkdir()
    rc = main(["sweep", str(path), "--out", str(tmp_path / "out"), "--data-root", str(empty)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and str(empty) in err, err  # names where it looked
    assert not (tmp_path / "out").exists()


def test_dry_run_shows_per_model_steps(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Steps set per model (``per_model.M.set.steps``) are what the run trains for, and what the matrix shows."""
    assert main(["sweep", "modes_grid25", "--dry-run", "--out", str(tmp_path)]) == 0
    lines = {ln.split()[0]: ln.split() for ln in capsys.readouterr().out.splitlines() if ln.split()[:1] != []}
    assert lines["0"][1] == "vae" and lines["0"][6] == "5000"
    assert lines["10"][1] == "wgan-gp" and lines["10"][6] == "20000"
    sweep = sweepmod.load("modes_grid25")
    assert sweep.run_spec(sweep.cells()[10]).steps is None and sweep.cells()[10].overrides["steps"] == 20000


def test_bench_schedule_names_per_model_settings_and_steps() -> None:
    """``make bench``'s schedule lines show a model's own settings and its own training length."""
    from bench.cli_bench import describe_schedule

    s = from_dict({"models": ["vae", "dcgan"], "datasets": ["digits"], "steps": 40,
                   "per_model": {"vae": {"set": {"beta": 4.0}, "steps": 80}, "dcgan": {"steps": 7}}})
    lines = describe_schedule(s).splitlines()
    assert lines[0].startswith("schedule: 40 iterations")
    assert lines[1:3] == ["  vae: beta=4.0, steps=80", "  dcgan: steps=7"]
