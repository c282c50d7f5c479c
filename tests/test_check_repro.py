"""The reproducibility gate's bookkeeping (scripts/check_repro.py): what it counts and compares."""

from __future__ import annotations

import importlib.util
import json
import math

from conftest import REPO, write_yaml

spec = importlib.util.spec_from_file_location("check_repro", REPO / "scripts" / "check_repro.py")
check_repro = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_repro)


def fake_project(tmp_path):
    """A run's lock naming two outputs; a third JSON file lies beside them (a committed result of
    another run) and must not be read."""
    (tmp_path / "reports" / "scores").mkdir(parents=True)
    (tmp_path / "reports" / "metrics.json").write_text(json.dumps({"variants": {"a": {"fid": 3.0, "seconds": 9}}}))
    (tmp_path / "reports" / "scores" / "a.json").write_text(json.dumps({"kid": 0.5, "mlflow_run_id": "x"}))
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "history.csv").write_text("epoch,g_loss,epoch_seconds\n1,0.5,3.0\n2,0.25,3.1\n")
    (tmp_path / "reports" / "bench.json").write_text(json.dumps({"ratio": 1.0}))
    write_yaml({"schema": "2.0", "stages": {
        "results": {"cmd": "x", "outs": [{"path": "reports/metrics.json"}, {"path": "reports/scores"}]},
        "train": {"cmd": "y", "outs": [{"path": "training/history.csv"}, {"path": "models/absent"}]},
    }}, tmp_path / "dvc.lock")
    return tmp_path


def test_only_the_outputs_the_lock_lists_are_read(tmp_path):
    found = check_repro.results(fake_project(tmp_path))
    assert found == {"reports/metrics.json.variants.a.fid": 3.0, "reports/scores/a.json.kid": 0.5,
                     "training/history.csv.g_loss@1": 0.5, "training/history.csv.g_loss@2": 0.25}


def test_committed_outputs_are_the_files_under_the_locks_outputs(tmp_path):
    project = fake_project(tmp_path)
    names = sorted(str(p.relative_to(project)) for p in check_repro.committed_outputs(project))
    assert names == ["reports/metrics.json", "reports/scores/a.json", "training/history.csv"]


def test_a_file_under_two_recorded_outputs_is_listed_once(tmp_path):
    # a stale lock entry (a stage since renamed) recorded reports/metrics.json a second time: the
    # gate unlinked it twice and died with FileNotFoundError
    project = fake_project(tmp_path)
    lock = check_repro.YAML(typ="safe", pure=True).load((project / "dvc.lock").read_text())
    lock["stages"]["evaluate"] = {"cmd": "z", "outs": [{"path": "reports/metrics.json"}, {"path": "reports"}]}
    write_yaml(lock, project / "dvc.lock")
    names = [str(p.relative_to(project)) for p in check_repro.committed_outputs(project)]
    assert names == ["reports/bench.json", "reports/metrics.json", "reports/scores/a.json", "training/history.csv"]


def test_nan_is_a_difference_even_against_nan():
    a = {"x": math.nan, "y": 1.0, "z": 2.0}
    b = {"x": math.nan, "y": 1.0, "z": 2.5}
    assert check_repro.differences(a, b, 0.0) == ["x: NaN (nan, nan)", "z: 2.0 != 2.5"]
    assert check_repro.differences({"only": 1.0}, {}, 0.0) == ["only: only in one run"]


def test_the_floor_grows_with_runs_and_epochs():
    params = {"variants": {"a": {}, "b": {}}, "seeds": [0], "train": {"epochs": 2, "fid_every": 1}}
    # 2 runs x (2 epochs x 9 curves + 4 summary + 9 scores) + 2 references x 9 + 2 variants x 9
    assert check_repro.expected_numbers(params) == 2 * (18 + 13) + 18 + 18
    params["seeds"] = [0, 1]
    assert check_repro.expected_numbers(params) == 4 * (18 + 13) + 18 + 18


def test_scores_computed_differently_are_named_by_their_provenance(tmp_path):
    card = {"precision": "float32", "code_commit": "unknown", "real_samples": 120}
    for name, precision in (("a", "float32"), ("b", "mixed_bfloat16")):
        (tmp_path / name / "reports").mkdir(parents=True)
        (tmp_path / name / "reports" / "metrics_by_seed.json").write_text(json.dumps(
            {"runs": {}, "provenance": {"noised-seed0": {**card, "precision": precision}, "acgan-seed0": card}}))
    assert check_repro.provenance_notes(tmp_path / "a", tmp_path / "b") == [
        "noised-seed0: precision 'float32' in a, 'mixed_bfloat16' in b"]
    assert check_repro.provenance_notes(tmp_path / "a", tmp_path / "b", ignore=("precision",)) == []


def test_the_gate_names_the_unhealthy_runs(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "metrics_by_seed.json").write_text(json.dumps({"runs": {
        "dcgan": {"0": {"health": "healthy"}, "1": {"health": "diverged", "health_reason": "epoch 2: g_loss 4e+13"}}}}))
    assert check_repro.unhealthy_runs(tmp_path) == ["dcgan-seed1: diverged (epoch 2: g_loss 4e+13)"]


def pairs_returning(monkeypatch, tmp_path, g_losses: list[tuple[float, float]]):
    """The gate with its `dvc repro` pairs faked: pair i's copies write g_losses[i]'s two values
    (the rest of a real run's numbers, the floor and dvc status are taken as met)."""
    made = []

    def run_pair(work, profile, baseline, suffix=""):
        pair = []
        for name, g_loss in zip(("a", "b"), g_losses[len(made)]):
            project = fake_project(work / f"{name}{suffix}")
            (project / "training" / "history.csv").write_text(f"epoch,g_loss\n1,0.5\n2,{g_loss}\n")
            write_yaml({}, project / "params.yaml")
            pair.append(project)
        made.append(pair)
        return pair

    monkeypatch.setattr(check_repro, "run_pair", run_pair)
    monkeypatch.setattr(check_repro, "unclean_status", lambda copies: [])
    monkeypatch.setattr(check_repro, "expected_numbers", lambda params: 4)  # what fake_project writes
    monkeypatch.setattr("sys.argv", ["check_repro.py", "--keep", str(tmp_path / "work")])
    return made


def test_a_one_off_rounding_is_settled_by_a_second_identical_pair(monkeypatch, tmp_path, capsys):
    made = pairs_returning(monkeypatch, tmp_path, [(3.9537975788116455, 3.9537973403930664), (0.25, 0.25)])
    assert check_repro.main() == 0
    assert len(made) == 2
    out = capsys.readouterr().out
    assert "training/history.csv.g_loss@2: 3.9537975788116455 != 3.9537973403930664" in out
    assert "one-off rounding" in out


def test_numbers_that_differ_in_both_pairs_fail_the_gate(monkeypatch, tmp_path, capsys):
    # What an unseeded draw or a nondeterministic op does: every pair differs.
    made = pairs_returning(monkeypatch, tmp_path, [(0.25, 0.26), (0.27, 0.24)])
    assert check_repro.main() == 1
    assert len(made) == 2
    assert "g_loss@2: 0.27 != 0.24" in capsys.readouterr().err


def test_identical_pair_runs_once(monkeypatch, tmp_path):
    made = pairs_returning(monkeypatch, tmp_path, [(0.25, 0.25)])
    assert check_repro.main() == 0
    assert len(made) == 1
