"""Does a change leave the binary task exactly as it was? Train the same toy runs with
two versions of the package and compare their predictions byte for byte.

    git worktree add /tmp/old <commit> --detach
    .venv/bin/python bench/same_predictions.py --old /tmp/old/src

Each version trains, in its own process and cache, a tutorial run and a masked pooled
hybrid (n-gram branch and stack) on the test suite's synthetic corpus; the script prints
whether each run's predictions.csv is identical, and the metrics.json keys that differ
in value (keys only the new version writes are listed apart).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run by each version's interpreter path: the toy corpus and runs of tests/conftest.py.
TRAIN = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import conftest
from typer.testing import CliRunner
from gru_sentiment.cli import app
out = Path(sys.argv[1])
corpus = conftest.make_jsonl(out / "corpus.jsonl", n_train=300, n_test=60)
runs = {
    "tutorial": ["--epochs", "2"],
    "hybrid": [*conftest.POOLED, "--set", "network.ngrams=true"],
}
for name, extra in runs.items():
    args = ["train", "--preset", "tutorial", "--data", str(corpus), "--out", str(out / name)]
    result = CliRunner().invoke(app, [*args, *conftest.TINY, *extra])
    assert result.exit_code == 0, result.output
"""


def train(src: Path, out: Path) -> None:
    out.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(src), "GRU_SENTIMENT_HOME": str(out / "home")}
    command = [sys.executable, "-c", TRAIN, str(out), str(REPO / "tests")]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the other version's src/")
    parser.add_argument("--new", type=Path, default=REPO / "src")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp) / "old", Path(tmp) / "new"
        train(args.old, old)
        train(args.new, new)
        for name in ("tutorial", "hybrid"):
            same = _read(old / name, "predictions.csv") == _read(new / name, "predictions.csv")
            before, after = (json.loads(_read(d / name, "metrics.json")) for d in (old, new))
            changed = [
                k for k in before if "seconds" not in k and _common(before[k]) != _common(after[k])
            ]
            print(
                f"{name}: predictions.csv {'identical' if same else 'DIFFERENT'}; "
                f"metrics differing: {changed or 'none'}; "
                f"new keys: {sorted(set(after) - set(before))}"
            )


def _read(run: Path, name: str) -> bytes:
    return (run / name).read_bytes()


def _common(value: object) -> object:
    """A metrics value; of a nested dict (at_decision_threshold, a hybrid's parts), the
    keys that both versions write."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in OLD_KEYS}
    return value


# The keys of a binary metrics dict before multi-class metrics.
OLD_KEYS = {
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "confusion_matrix",
    "threshold",
    "n_test",
    "validation_accuracy",
}


if __name__ == "__main__":
    main()
