#!/usr/bin/env bash
# The tutorial's experiments to convergence: each on all of IMDB, 3 seeds, early stopping
# within the 12-epoch cap, then docs/experiments.md gathering their answers. Runs are run
# folders in runs/experiments, named by config: an interrupted grid resumes, and a variant
# two experiments share (the base) trains once; each finished run's record goes to
# experiments/records/ (commit it: the grid resumes from it on another machine, without
# the run folders). Extra arguments go to every experiment
# (e.g. --engine ray --address auto for a cluster).
#
#   bench/experiments.sh ../shared/data/aclImdb.tar.gz [NAMES] [EXTRA...]
#
# On a GPU machine: KERAS_BACKEND=jax and the set-up of bench/gpu.sh. On 2 CPU cores the
# whole grid takes hours (each run's seconds are in its record); it resumes where it stopped.
set -euo pipefail
data=${1:?usage: bench/experiments.sh DATA [NAMES] [EXTRA...]}
names=${2:-maxlen cell units conv-gru embeddings threshold}
python=${PYTHON:-python3}
for name in $names; do
    "$python" -m gru_sentiment experiment "$name" --data "$data" --full --seeds 3 "${@:3}"
done
"$python" -m gru_sentiment experiment overview
