"""The cross-domain benchmark: runs trained on IMDB scored on short and foreign texts.

Two questions, one JSON (`bench/results/<date>-domains.json`) and one markdown table:

- zero-shot: every `--run NAME=FOLDER` (trained on IMDB) scored on each set's test portion
  (`bench/domain_sources.py` gets the sets) and on a proxy that needs no other data: IMDB
  test reviews cut to their first / last k sentences (k = 1, 2, 3), labelled with the
  review's label. A hybrid run is also scored by its GRU alone and its n-gram branch alone.
- trained here (`--train-here SET`, sets with 2,000 training texts or more): the default
  preset and the baseline trained on the set's train portion (no IMDB), on its test portion.

Only test portions are scored here; choices are made on the dev portions, elsewhere.

    python bench/domains.py --data ../shared/data/aclImdb.tar.gz \\
        --run default=runs/hybrid --run baseline=runs/baseline --run tutorial=runs/tutorial \\
        --train-here airline_tweets
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import lscpu  # noqa: E402
from domain_sources import SOURCES  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CACHE = Path.home() / ".cache" / "gru-sentiment" / "domains"
PROXY_REVIEWS, PROXY_SEED = 2000, 0


def read_set(name: str, cache: Path, split: str = "test") -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in (cache / f"{name}.jsonl").open(encoding="utf-8")]
    chosen = [r for r in rows if r["split"] == split]
    return [r["text"] for r in chosen], np.array([r["label"] == "positive" for r in chosen], int)


def proxy_sets(data: str) -> dict[str, tuple[list[str], np.ndarray]]:
    """IMDB test reviews (a seeded sample) cut to their first / last k sentences."""
    from gru_sentiment.data.crops import sentences
    from gru_sentiment.data.imdb import load_imdb

    test = load_imdb(data, splits=("test",))["test"]
    picked = np.random.default_rng(PROXY_SEED).permutation(len(test.texts))[:PROXY_REVIEWS]
    cut = [sentences(test.texts[i]) for i in picked]
    labels = np.asarray(test.labels)[picked].astype(int)
    sets = {}
    for k in (1, 2, 3):
        sets[f"imdb_first{k}"] = ([" ".join(s[:k]) for s in cut], labels)
        sets[f"imdb_last{k}"] = ([" ".join(s[-k:]) for s in cut], labels)
    return sets


def scores(run_dir: Path) -> dict[str, callable]:
    """NAME -> (texts -> (P(positive), threshold)) for the run, and for a hybrid its GRU
    alone and its n-gram branch alone (threshold 0.5: neither has one of its own)."""
    from gru_sentiment.inference.baseline import load_run
    from gru_sentiment.model.stack import probabilities

    model = load_run(run_dir)
    found = {"": lambda texts: (model.score(texts, model.cfg.text.keep)[0], model.threshold)}
    if getattr(model, "ngram", None) is not None:
        linear, _ = model.ngram

        def gru(texts):
            return model.probabilities(model.encoder.encode(texts), model.cfg.text.keep), 0.5

        def ngrams(texts):
            return probabilities(linear.logits(model.encoder.encode(texts))), 0.5

        found |= {" GRU alone": gru, " n-grams alone": ngrams}
    return found


def measure(labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict:
    from sklearn.metrics import roc_auc_score

    from gru_sentiment.evaluation.calibration import ece

    return {
        "accuracy": round(float(((probs >= threshold) == labels).mean()), 4),
        "roc_auc": round(float(roc_auc_score(labels, probs)), 4),
        "ece": round(ece(labels, probs), 4),
        "mean_p_positive_of_negatives": round(float(probs[labels == 0].mean()), 4),
    }


def train_here(name: str, cache: Path, runs_dir: Path) -> dict[str, Path]:
    """The default preset and the baseline trained on the set's train portion (CSV with a
    split column: the tool carves its validation from train), cached in `runs_dir`."""
    import csv

    rows = [json.loads(line) for line in (cache / f"{name}.jsonl").open(encoding="utf-8")]
    corpus = runs_dir / f"{name}.csv"
    runs_dir.mkdir(parents=True, exist_ok=True)
    with corpus.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "split"])
        writer.writerows((r["text"], r["label"], r["split"]) for r in rows if r["split"] != "dev")
    folders = {"default": runs_dir / f"{name}-default", "baseline": runs_dir / f"{name}-baseline"}
    tool = [sys.executable, "-m", "gru_sentiment"]
    commands = {
        "default": [*tool, "train", "--data", str(corpus), "--out", str(folders["default"])],
        "baseline": [*tool, "baseline", "--data", str(corpus), "--out", str(folders["baseline"])],
    }
    for model, command in commands.items():
        if not (folders[model] / "manifest.json").exists():
            subprocess.run(command, check=True)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="the IMDB archive (for the proxy)")
    parser.add_argument("--run", action="append", default=[], help="NAME=RUN_FOLDER")
    parser.add_argument("--cache", type=Path, default=CACHE, help="domain_sources.py's cache")
    parser.add_argument("--train-here", action="append", default=[], help="a set's name")
    parser.add_argument("--runs-dir", type=Path, default=REPO / "runs" / "domains")
    parser.add_argument("--name", default="domains")
    parser.add_argument("--split", choices=("test", "dev"), default="test")
    args = parser.parse_args()

    if args.split == "dev":  # choices are made here: no test portion, no IMDB test proxy
        sets = {name: read_set(name, args.cache, "dev") for name in SOURCES}
        sets = {name: found for name, found in sets.items() if len(found[0])}
    else:
        sets = {name: read_set(name, args.cache) for name in SOURCES} | proxy_sets(args.data)
    results = {
        name: {
            "n": len(labels),
            "source": f"{SOURCES[name].repo}@{SOURCES[name].commit[:12]}"
            if name in SOURCES
            else "IMDB test reviews, sentences cut (aclImdb_v1.tar.gz)",
            "md5": list(SOURCES[name].md5s) if name in SOURCES else None,
            "models": {},
        }
        for name, (_, labels) in sets.items()
    }
    for spec in args.run:
        label, _, folder = spec.partition("=")
        for suffix, score in scores(Path(folder)).items():
            for name, (texts, labels) in sets.items():
                started = time.perf_counter()
                probs, threshold = score(texts)
                found = measure(labels, np.asarray(probs, float), threshold)
                results[name]["models"][label + suffix] = found
                print(
                    f"{name:18} {label + suffix:24} {found} {time.perf_counter() - started:.1f} s"
                )
    for name in args.train_here:
        texts, labels = sets[name]
        results[name]["trained_here"] = {}
        for model, folder in train_here(name, args.cache, args.runs_dir).items():
            score = scores(folder)[""]
            results[name]["trained_here"][model] = measure(labels, *score(texts))
            print(f"{name:18} trained here: {model:10} {results[name]['trained_here'][model]}")
    write(args, results)


def write(args, results: dict) -> None:
    machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "lscpu": lscpu()}
    command = "python bench/domains.py " + " ".join(
        a if not a.startswith("/") else os.path.relpath(a, REPO) for a in sys.argv[1:]
    )
    out = REPO / "bench" / "results" / f"{date.today()}-{args.name}.json"
    report = {"command": command, "machine": machine, "sets": results}
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")
    print(markdown(results))


def markdown(results: dict) -> str:
    """One row per set: accuracy / ECE of each model (zero-shot), then trained here."""
    models = list(next(iter(results.values()))["models"])
    head = "| set | n | " + " | ".join(models) + " | trained here: default / baseline |"
    lines = [head, "|" + "---|" * (len(models) + 3)]
    for name, found in results.items():
        cells = [
            f"{m['accuracy']:.2%} / {m['ece']:.3f}" for m in (found["models"][k] for k in models)
        ]
        here = found.get("trained_here")
        there = (
            f"{here['default']['accuracy']:.2%} / {here['baseline']['accuracy']:.2%}"
            if here
            else ""
        )
        lines.append(f"| {name} | {found['n']:,} | " + " | ".join(cells) + f" | {there} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
