#!/usr/bin/env bash
# On a GPU machine with JAX: train the tutorial and the default preset and score the test
# set; prints one JSON line per run (seconds per epoch, training seconds, total seconds,
# test accuracy, reviews/s scored) and appends them to OUT/gpu.jsonl. Never run by CI:
# nothing in the tool depends on a GPU. (Mixed precision is not offered yet: no GPU has
# been at hand to show whether a 64-unit GRU gains from it.)
#
#   bench/gpu.sh ../shared/data/aclImdb.tar.gz [OUT] [MODELS]
#
# MODELS: presets, each with optional overrides as in bench/accuracy.py, e.g.
# "tutorial hybrid hybrid+adversarial=0.02".
#
# Needs this package with JAX for CUDA (`pip install -e '.[jax]' 'jax[cuda12]'`), or, on a
# machine without TensorFlow, `PYTHONPATH=src` with keras, namex, optree and the runtime
# dependencies importable. PYTHON picks the interpreter (default python3).
set -euo pipefail
data=${1:?usage: bench/gpu.sh DATA [OUT] [MODELS]}
out=${2:-runs/gpu}
models=${3:-tutorial hybrid}
python=${PYTHON:-python3}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
mkdir -p "$out"
"$python" -c "import keras, jax; print('keras', keras.__version__, keras.backend.backend(), jax.devices())"
for model in $models; do
    IFS=+ read -ra parts <<< "$model"  # preset, then FIELD=VALUE overrides
    sets=()
    for field in "${parts[@]:1}"; do sets+=(--set "$field"); done
    run="$out/${model//[+=]/-}"
    start=$(date +%s)
    "$python" -m gru_sentiment train --preset "${parts[0]}" --data "$data" --out "$run" \
      --force "${sets[@]}" > "$run.log" 2>&1 || { tail -20 "$run.log"; exit 1; }
    "$python" - "$run" "$data" "$(($(date +%s) - start))" "$model" <<'EOF' | tee -a "$out/gpu.jsonl"
import json, sys, time
from gru_sentiment.data.imdb import load_imdb
from gru_sentiment.inference.model import SentimentModel
from gru_sentiment.runtime import device_info

run, data, total, name = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
metrics = json.load(open(f"{run}/metrics.json"))
texts = load_imdb(data, splits=("test",), expected_counts=None).splits["test"].texts
model = SentimentModel.load(run)
model.score(texts[:512], model.cfg.keep)  # compile the shapes first
start = time.perf_counter()
model.score(texts, model.cfg.keep)
print(json.dumps({
    "model": name, "preset": model.cfg.preset, **device_info(),
    "seconds_per_epoch": metrics["seconds_per_epoch"], "train_seconds": metrics["train_seconds"],
    "total_seconds": round(total, 1), "accuracy": metrics["accuracy"],
    "reviews_per_s": round(len(texts) / (time.perf_counter() - start), 1),
}))
EOF
done
