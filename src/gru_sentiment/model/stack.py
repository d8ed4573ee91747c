"""The hybrid: the recurrent model's and the n-gram model's log-odds, combined by a
logistic regression fitted on the validation split (never on test)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.files import read_json, write_json

STACK = "stack.json"


def logit(probs: np.ndarray) -> np.ndarray:
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


@dataclass
class Stack:
    w_recurrent: float
    w_linear: float
    bias: float

    @classmethod
    def fit(cls, recurrent_probs: np.ndarray, linear_logits: np.ndarray, labels: np.ndarray):
        # imported here: the portable scorer combines with a Stack and has no scikit-learn
        from sklearn.linear_model import LogisticRegression

        features = np.c_[logit(recurrent_probs), linear_logits]  # (n, 2)
        model = LogisticRegression(C=1.0).fit(features, labels)
        (w_rec, w_lin), bias = model.coef_[0], model.intercept_[0]
        return cls(float(w_rec), float(w_lin), float(bias))

    def combine(self, recurrent_probs: np.ndarray, linear_logits: np.ndarray) -> np.ndarray:
        """(n,) probability of positive."""
        z = self.w_recurrent * logit(recurrent_probs) + self.w_linear * linear_logits + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, folder: Path) -> None:
        write_json(folder / STACK, self.__dict__)

    @classmethod
    def load(cls, folder: Path) -> Stack:
        return cls(**read_json(folder / STACK))
