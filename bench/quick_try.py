"""Time the README's "Try it on a small sample" as a newcomer runs it, and record what it
prints: the quick train's seconds and headline, and predict's answers for the README's two
examples and a few more short ones, over seeds.

    python bench/quick_try.py --data aclImdb_v1.tar.gz --seeds 42 43 44

writes bench/results/DATE-quick-try.json (with the CPU: machines differ several-fold).
The train arguments are read from README.md itself, so the file measures what it says.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import lscpu  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# What the README predicts (expected label) and more one-liners of the same kind.
EXAMPLES = {
    "A moving, beautifully acted film.": "positive",
    "Dull and far too long.": "negative",
    "I loved every minute of it.": "positive",
    "A waste of time.": "negative",
    "Not bad at all.": "positive",
    "I wanted to like it, but no.": "negative",
}


def readme_train_args() -> list[str]:
    """The `gru-sentiment train` arguments of the README's try (its continued lines)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Try it on a small sample", 1)[1].split("```bash", 1)[1]
    command = re.search(r"gru-sentiment train (.*?)\n(?!\s)", block, re.S).group(1)
    args = shlex.split(command.replace("\\\n", " "))
    drop = {"--out", "--data"}  # this script chooses both
    return [a for i, a in enumerate(args) if a not in drop and args[i - 1] not in drop]


def run(args: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gru_sentiment", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started, done.stdout


def try_seed(data: str, seed: int, folder: Path) -> dict:
    out = folder / f"quick-{seed}"
    args = [*readme_train_args(), "--seed", str(seed), "--data", data, "--out", str(out)]
    seconds, printed = run(["train", *args], folder)
    predict_seconds, shown = run(["predict", str(out), *list(EXAMPLES)[:2]], folder)
    answers = folder / f"answers-{seed}.jsonl"
    run(["predict", str(out), *EXAMPLES, "--output", str(answers)], folder)
    rows = [json.loads(line) for line in answers.read_text().splitlines()]
    return {
        "seed": seed,
        "train_seconds": round(seconds, 1),
        "predict_seconds": round(predict_seconds, 1),
        "headline": next(x for x in printed.splitlines() if x.startswith("test:")),
        "printed": shown.splitlines(),  # what the README's predict line shows
        "answers": [
            {"text": text, "label": r["predicted"], "p_positive": round(r["probability"], 4)}
            for text, r in zip(EXAMPLES, rows, strict=True)
        ],
        "right": sum(
            r["predicted"] == label for r, label in zip(rows, EXAMPLES.values(), strict=True)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="the IMDB archive (or folder)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--out", type=Path, help="the JSON file (default: bench/results/)")
    args = parser.parse_args()
    data = str(Path(args.data).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        seeds = [try_seed(data, seed, Path(tmp)) for seed in args.seeds]
    today = datetime.date.today().isoformat()
    out = args.out or ROOT / "bench" / "results" / f"{today}-quick-try.json"
    found = {
        "command": f"python bench/quick_try.py --data {Path(args.data).name} --seeds "
        + " ".join(map(str, args.seeds)),
        "train_args": readme_train_args(),
        "cpu": lscpu(),
        "examples": EXAMPLES,
        "seeds": seeds,
    }
    out.write_text(json.dumps(found, indent=2) + "\n")
    for row in seeds:
        print(f"seed {row['seed']}: train {row['train_seconds']} s, {row['right']}/{len(EXAMPLES)}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
