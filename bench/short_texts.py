"""Which stack serves short texts: the hybrid's two views combined in other ways, chosen on
IMDB validation and the cross-domain dev portions (never a test portion).

The stack of a trained hybrid run is refitted here, on the run's own GRU and on an n-gram
model refitted on its train split (so that validation scores are out of sample):

- `whole`: the stack as trained today, on whole validation reviews;
- `crops`: on whole validation reviews plus crops of them (their first or last 1-3
  sentences, labelled with the review's label), so that short texts weigh in the fit;
- `crops+length`: the same with the log length and its products with both views as
  features, so that short texts get their own weighting of the GRU and the n-grams.

    python bench/short_texts.py --data ../shared/data/aclImdb.tar.gz --run runs/hybrid
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import lscpu  # noqa: E402
from domain_sources import SOURCES  # noqa: E402
from domains import CACHE, REPO, measure, read_set  # noqa: E402

CROP_SEED = 0  # the run's stack draws its crops with the run's seed; any seed will do here


def views(model, linear, texts: list[str]) -> np.ndarray:
    """(n, 3): logit of the GRU's P(positive), the n-gram log-odds, log(1 + tokens)."""
    from gru_sentiment.model.stack import logit

    seqs = model.encoder.encode(texts)
    gru = logit(model.probabilities(seqs, model.cfg.text.keep))
    return np.c_[gru, linear.logits(seqs), np.log1p([len(s) for s in seqs])]


def features(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "crops+length":
        return np.c_[x[:, :2], x[:, 2:3], x[:, :1] * x[:, 2:3], x[:, 1:2] * x[:, 2:3]]
    return x[:, :2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--run", type=Path, required=True)
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    from gru_sentiment.data.crops import sentence_crops
    from gru_sentiment.data.splits import DataSpec, load_splits
    from gru_sentiment.inference.model import SentimentModel
    from gru_sentiment.model.linear import NBLogistic

    model = SentimentModel.load(args.run)
    splits = load_splits(DataSpec(args.data), model.cfg.seed, model.cfg.fit.val_fraction, False)
    linear = NBLogistic.fit(model.encoder.encode(splits.train.texts), splits.train.labels)
    val_texts, val_labels = splits.validation.texts, splits.validation.labels
    crop_texts, crop_labels = sentence_crops(val_texts, CROP_SEED), val_labels
    whole, cropped = views(model, linear, val_texts), views(model, linear, crop_texts)
    dev = {name: read_set(name, CACHE, "dev") for name in SOURCES if name != "sentiment140_test"}
    dev_views = {name: (views(model, linear, t), y) for name, (t, y) in dev.items()}
    fits = {
        "whole": (whole, val_labels),
        "crops": (np.r_[whole, cropped], np.r_[val_labels, crop_labels]),
        "crops+length": (np.r_[whole, cropped], np.r_[val_labels, crop_labels]),
    }
    results = {}
    for kind, (x, y) in fits.items():
        stack = LogisticRegression(C=1.0, max_iter=1000).fit(features(x, kind), y)
        found = {
            "imdb_validation": measure(
                val_labels, stack.predict_proba(features(whole, kind))[:, 1], 0.5
            ),
            "imdb_validation_crops": measure(
                crop_labels, stack.predict_proba(features(cropped, kind))[:, 1], 0.5
            ),
        }
        for name, (v, y_dev) in dev_views.items():
            found[f"{name}_dev"] = measure(y_dev, stack.predict_proba(features(v, kind))[:, 1], 0.5)
        found["mean_dev_accuracy"] = round(
            float(np.mean([found[f"{n}_dev"]["accuracy"] for n in dev_views])), 4
        )
        results[kind] = found
        print(kind, json.dumps({k: v for k, v in found.items()}, indent=None))
    out = REPO / "bench" / "results" / f"{date.today()}-short-texts.json"
    command = f"python bench/short_texts.py --data aclImdb_v1.tar.gz --run {args.run}"
    out.write_text(json.dumps({"command": command, "lscpu": lscpu(), "stacks": results}, indent=2))
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
