"""The hybrid: the recurrent model's and the n-gram model's scores, combined by a
logistic regression fitted on the validation split (never on test).

Two classes: features (logit of the network's P(second class), the n-gram log-odds), one
sigmoid. More: features (log P(class) of the network for every class, the n-gram scores
for every class), a softmax over the classes (multinomial), so each class's probability
can lean on any class's evidence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.files import read_json, write_json

STACK = "stack.json"


def logit(probs: np.ndarray) -> np.ndarray:
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, classes) scores."""
    z = np.exp(scores - scores.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def probabilities(scores: np.ndarray) -> np.ndarray:
    """Log-odds (n,) -> P(second class); scores (n, classes) -> P(each class)."""
    return 1 / (1 + np.exp(-scores)) if scores.ndim == 1 else softmax(scores)


def features(recurrent_probs: np.ndarray, linear_logits: np.ndarray) -> np.ndarray:
    """(n, 2) for two classes ((n,) inputs), (n, 2 * classes) for more."""
    if recurrent_probs.ndim == 1:
        return np.c_[logit(recurrent_probs), linear_logits]
    return np.c_[np.log(np.clip(recurrent_probs, 1e-7, 1)), linear_logits]


@dataclass
class Stack:
    """coef: (1, 2) for two classes, (classes, 2 * classes) for more; intercept likewise."""

    coef: list[list[float]]
    intercept: list[float]

    @classmethod
    def fit(cls, recurrent_probs: np.ndarray, linear_logits: np.ndarray, labels: np.ndarray):
        # imported here: the portable scorer combines with a Stack and has no scikit-learn
        from sklearn.linear_model import LogisticRegression

        x = features(recurrent_probs, linear_logits)
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x, labels)
        coef, intercept = model.coef_, model.intercept_
        if recurrent_probs.ndim == 2 and len(model.classes_) < recurrent_probs.shape[1]:
            # a class without validation reviews: its own evidence alone, unweighted
            k = recurrent_probs.shape[1]
            coef, intercept = np.zeros((k, 2 * k)), np.full(k, intercept.min() - 20)
            coef[model.classes_], intercept[model.classes_] = model.coef_, model.intercept_
        return cls(coef.tolist(), intercept.tolist())

    def combine(self, recurrent_probs: np.ndarray, linear_logits: np.ndarray) -> np.ndarray:
        """(n,) probability of the second class for two classes, else (n, classes)."""
        z = features(recurrent_probs, linear_logits) @ np.array(self.coef).T + self.intercept
        if recurrent_probs.ndim == 1:
            return 1.0 / (1.0 + np.exp(-z[:, 0]))
        return softmax(z)

    def save(self, folder: Path) -> None:
        write_json(folder / STACK, {"coef": self.coef, "intercept": self.intercept})

    @classmethod
    def load(cls, folder: Path) -> Stack:
        return cls.from_dict(read_json(folder / STACK))

    @classmethod
    def from_dict(cls, values: dict) -> Stack:
        """{coef, intercept}, or {w_recurrent, w_linear, bias}: the two-class form that runs
        and bundles written before multi-class stacks hold."""
        if "w_recurrent" in values:
            return cls([[values["w_recurrent"], values["w_linear"]]], [values["bias"]])
        return cls(values["coef"], values["intercept"])
