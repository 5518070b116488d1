"""The command line: JSON contract, run listing, one-line errors with exit 2, and the
end-to-end run on the real clickbait data."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

REQUIRED = {"run_id", "status", "n_train", "n_val", "vocab_size", "pretrained_coverage",
            "val_accuracy", "snapshots", "train_seconds"}


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_train_then_runs(tiny_csv, tmp_path):
    store = tmp_path / "runs"
    res = _cli("train", tiny_csv, "--epochs", 2, "--batch-size", 4, "--store", store)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert REQUIRED <= out.keys()
    assert out["status"] == "done" and out["snapshots"] == 3 and len(out["val_accuracy"]) == 2
    assert "epoch 2" in res.stderr  # the progress bar went to stderr
    listed = [json.loads(line) for line in _cli("runs", "--store", store).stdout.splitlines()]
    assert [r["run_id"] for r in listed] == [out["run_id"]]


@pytest.mark.parametrize("args, message", [
    (["train", "no/such/file.csv"], "not found"),
    (["train", "{csv}", "--epochs", "0"], "epochs"),
    (["train", "{csv}", "--text-column", "nope"], "nope"),
    (["train", "{csv}", "--arch", "transformer"], "arch"),
    (["train", "{csv}", "--init", "{missing_vec}"], "missing.vec"),
    (["bogus"], "invalid choice"),
], ids=["missing-file", "bad-epochs", "bad-column", "bad-arch", "missing-vectors", "bad-command"])
def test_bad_input_exits_2_with_one_line(tiny_csv, tmp_path, args, message):
    args = [a.format(csv=tiny_csv, missing_vec=tmp_path / "missing.vec") for a in args]
    res = _cli(*args, "--store", tmp_path / "runs") if args[0] != "bogus" else _cli(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.e2e
def test_clickbait_end_to_end(clickbait_csv, tmp_path):
    res = _cli("train", clickbait_csv, "--init", "glove", "--epochs", 2, "--batch-size", 128,
               "--store", tmp_path / "runs", "--quiet")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["n_train"] + out["n_val"] > 30_000
    assert out["pretrained_coverage"]["token_share"] > 0.9
    assert out["val_accuracy"][-1] > 0.93


CLI_MODULES = ("core.cli", "core.cli.common", "core.cli.training", "core.cli.engine",
               "core.cli.views", "core.cli.experiments", "core.cli.datasets")
SUBCOMMANDS = {"train", "runs", "worker", "warm-up", "engine", "compare", "export", "project",
               "experiment", "datasets", "import"}


@pytest.mark.parametrize("module", CLI_MODULES)
def test_importing_any_cli_module_yields_every_subcommand(module):
    """A fresh interpreter imports one CLI module; the parser then has every subcommand."""
    code = (f"import importlib, json; importlib.import_module({module!r}); "
            "import core.cli as c; p = c.build_parser(); "
            "print(json.dumps(sorted(p._subparsers._group_actions[0].choices)))")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert set(json.loads(res.stdout)) == SUBCOMMANDS


def test_store_option_is_declared_once_for_every_store_command(tmp_path):
    """--store comes from one parent parser; every subcommand that works on a store has it."""
    from core.cli import SUBCOMMANDS as commands, build_parser

    parser = build_parser()
    subs = parser._subparsers._group_actions[0].choices
    for cmd in commands:
        flags = {o for a in subs[cmd.name]._actions for o in a.option_strings}
        assert ("--store" in flags) == cmd.store, cmd.name


def test_train_flags_take_their_defaults_and_ranges_from_train_config():
    from core.cli import build_parser
    from core.training.config import TrainConfig

    args = build_parser().parse_args(["train", "data.csv"])
    default = TrainConfig()
    for name in ("dim", "epochs", "batch_size", "lr", "val_fraction", "seed", "max_vocab",
                 "init", "arch", "freeze"):
        assert getattr(args, name) == getattr(default, name), name


def _garbage_store(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "runs.sqlite").write_bytes(bytes(range(256)) * 16)  # not SQLite
    return store


@pytest.mark.parametrize("make_store, message", [
    (lambda tmp: (tmp / "a-file").write_text("x") and tmp / "a-file",
     "is a file, not a folder"),
    (_garbage_store, "is not a run store database (file is not a database)"),
], ids=["store-is-a-file", "store-database-is-garbage"])
def test_unusable_store_exits_2_with_one_line(tmp_path, make_store, message):
    """Traceback and exit 1 before (issue 13): a --store the user must fix is a user error."""
    store = make_store(tmp_path)
    res = _cli("runs", "--store", store, timeout=120)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], res.stderr
    assert res.stdout == ""


def test_error_line_stays_one_line_when_a_name_holds_a_newline(tmp_path):
    from core.cli import main

    bad = tmp_path / "two\nlines.csv"
    bad.write_text("text,label\n")
    import io
    from contextlib import redirect_stderr

    err = io.StringIO()
    with redirect_stderr(err):
        code = main(["train", str(bad), "--store", str(tmp_path / "runs")])
    assert code == 2 and len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
    assert "two\\nlines.csv" in err.getvalue()


def test_train_says_on_stderr_how_many_texts_were_cut(tiny_csv, tmp_path):
    res = _cli("train", tiny_csv, "--epochs", 1, "--max-text-tokens", 4, "--quiet",
               "--store", tmp_path / "runs")
    assert res.returncode == 0, res.stderr
    assert "texts were longer than 4 words and were cut there (--max-text-tokens)" in res.stderr


def test_early_stopping_switch_and_patience_reach_the_config():
    """The switch defaults to TrainConfig's (on) and can be turned off; patience parses."""
    from core.cli import build_parser
    from core.cli.training import train_config_from_args
    from core.training.config import TrainConfig

    parse = build_parser().parse_args
    assert train_config_from_args(parse(["train", "d.csv"])).early_stopping is \
        TrainConfig().early_stopping is True
    off = train_config_from_args(parse(["train", "d.csv", "--no-early-stopping",
                                        "--patience", "5", "--min-delta", "0.01"]))
    assert (off.early_stopping, off.patience, off.min_delta) == (False, 5, 0.01)


def test_train_reports_the_best_epoch_and_early_stopping(tiny_csv, tmp_path):
    res = _cli("train", tiny_csv, "--epochs", 30, "--batch-size", 4, "--lr", 0.5,
               "--patience", 1, "--store", tmp_path / "runs")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert 1 <= out["best_epoch"] <= len(out["val_loss"]) < 30 and out["stopped_early"]
    assert out["best_epoch"] == out["val_loss"].index(min(out["val_loss"])) + 1
    assert "stopped early after epoch" in res.stderr
    # the headline is the chosen epoch, said to be scored on the texts that chose it, and
    # the runs listing names the same one
    head = out["headline"]
    assert (head["epoch"], head["accuracy"]) == (out["best_epoch"], out["best_val_accuracy"])
    assert head["scored_on"] == "validation (used to choose the epoch)"
    listed = json.loads(_cli("runs", "--store", tmp_path / "runs").stdout.splitlines()[0])
    assert listed["headline"] == head
