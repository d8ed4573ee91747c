"""Which words pushed a prediction which way, by OCCLUSION.

Each word (or punctuation mark) is removed from the review in turn, exactly as if it had
not been written, and the review is scored again by the whole model (the n-gram branch
and stack included, for a hybrid run). A word's contribution is P(target class) with it
minus P(target class) without it: positive pushed towards that class, negative away from
it. The target class is the one asked for; by default, for two classes the second
("positive": P(positive), as always), for more the predicted one. The scores are what the
model does, not a gradient approximation of it, so removing the words with the largest
positive contributions lowers P(target class).

A pure GRU run never sees the words outside the part of a long review it reads:
removing them changes nothing, so their contribution is 0 without scoring them.

Each scored token costs one scored copy of the review, so the work is bounded: at most
`max_tokens` tokens are scored (the others' contribution is None), the copies are scored
`BATCH` at a time (memory independent of the text's length), and a `deadline` stops it.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from ..data.tables import text_error
from ..io.terminal import printable
from .prediction import Prediction


class Scorer(Protocol):
    """What occlusion needs of a model: its classes, its tokens, and scores of texts."""

    classes: tuple[str, ...]
    reads_whole_text: bool  # every token can change the answer (n-gram models)

    def spans(self, text: str, keep: str) -> tuple[list[tuple[int, int]], set[int]]: ...

    def score(self, texts: list[str], keep: str) -> tuple[np.ndarray, list[int]]: ...

    def verdict(self, probs: float | np.ndarray, tokens: int) -> Prediction: ...


METHOD = "occlusion"
# Tokens scored per explanation: more than a pure GRU of the presets reads (max_len 400),
# so only a hybrid's long reviews are cut, after the words its GRU reads.
MAX_TOKENS = 512
BATCH = 64  # copies of the review scored at a time


@dataclass(frozen=True)
class Token:
    """One word or punctuation mark, located in the original text."""

    text: str  # as written (the model sees it normalised, maybe as <unk>)
    start: int  # character offsets into the original text
    end: int
    contribution: float | None  # P(target) - P(target without it); None: not scored
    read: bool  # inside the part of a long review the recurrent model reads


@dataclass(frozen=True)
class Explanation:
    text: str
    prediction: Prediction
    tokens: list[Token]
    target_class: str  # the class whose probability the contributions are to
    note: str
    method: str = METHOD

    def top(self, k: int = 5, positive: bool = True) -> list[Token]:
        """The `k` tokens that pushed hardest towards the target class (or away from it)."""
        sign = 1 if positive else -1
        scored = [t for t in self.tokens if t.contribution]  # neither 0 nor None (not scored)
        ranked = sorted(scored, key=lambda t: -sign * t.contribution)
        return [t for t in ranked[:k] if sign * t.contribution > 0]

    def to_dict(self) -> dict:
        return asdict(self)


def method_note(target_class: str) -> str:
    """What the contributions are, for an explanation of P(`target_class`)."""
    return (
        f"Contributions by occlusion: how much P({target_class}) drops when the word is "
        f"removed (positive: the word pushed towards {target_class})."
    )


def class_index(classes: Sequence[str], name: str) -> int:
    """The index of class `name`; ValueError naming the classes for any other."""
    if name not in classes:
        shown = name if len(name) <= 60 else name[:60] + "…"
        raise ValueError(f"unknown class {shown!r}: the run's classes are {', '.join(classes)}")
    return list(classes).index(name)


def class_probability(probs: np.ndarray, index: int) -> np.ndarray:
    """(n,) P(class `index`) from a model's scores: (n,) P(second class) for two classes,
    (n, classes) for more."""
    if probs.ndim == 1:
        return probs if index == 1 else 1 - probs
    return probs[:, index]


def occlusion(
    model: Scorer,
    text: str,
    keep: str,
    max_tokens: int = MAX_TOKENS,
    deadline: float | None = None,
    target_class: str | None = None,
) -> Explanation:
    """Explain `model`'s P(`target_class`) on `text`; by default P(positive) (the second
    class) for two classes, P(predicted class) for more. Raises ValueError for an unusable
    text or a class the run does not have.

    At most `max_tokens` tokens are scored: those the GRU reads first, then (a hybrid's
    n-gram branch reads them all) the others, each in text order. Past `deadline`
    (`time.monotonic()`), TimeoutError before the next batch."""
    error = text_error(text)
    if error:
        raise ValueError(error)
    classes = model.classes
    if target_class is not None:
        class_index(classes, target_class)  # an unknown class: ValueError before any work
    spans, read = model.spans(text, keep)
    # A model that reads only part of the text never sees the rest: 0 without scoring.
    drop = {} if model.reads_whole_text else {i: 0.0 for i in range(len(spans)) if i not in read}
    # The tokens a GRU reads first, then a hybrid's others (its n-gram branch reads them
    # all), each group in text order.
    candidates = sorted(set(range(len(spans))) - set(drop), key=lambda i: (i not in read, i))
    scored = candidates[:max_tokens]
    probs, lengths = model.score([text], keep)
    prediction = model.verdict(probs[0], lengths[0])
    if target_class is None:
        target_class = classes[1] if len(classes) == 2 else prediction.label
    target = class_index(classes, target_class)
    p_target = class_probability(probs, target)[0]
    for start in range(0, len(scored), BATCH):
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"explanation stopped after {start} of {len(scored)} tokens")
        batch = scored[start : start + BATCH]
        # A space in place of the word: its neighbours stay apart (no new word is formed).
        variants = [text[: spans[i][0]] + " " + text[spans[i][1] :] for i in batch]
        p_without = class_probability(model.score(variants, keep)[0], target)
        drop.update(zip(batch, p_target - p_without, strict=True))
    tokens = [
        Token(
            text=text[start:end],
            start=start,
            end=end,
            contribution=round(float(drop[i]), 6) if i in drop else None,
            read=i in read,
        )
        for i, (start, end) in enumerate(spans)
    ]
    note = method_note(target_class)
    if len(candidates) > max_tokens:
        note += f" Only {max_tokens} tokens were scored (the cap): the others have none."
    return Explanation(text, prediction, tokens, target_class, note)


def _pieces(explanation: Explanation) -> list[tuple[str, Token | None]]:
    """The original text cut into tokens and the gaps between them, in order."""
    pieces, pos = [], 0
    for token in explanation.tokens:
        if token.start < pos:  # one character normalised into several tokens ("½" -> 1⁄2)
            continue
        if token.start > pos:
            pieces.append((explanation.text[pos : token.start], None))
        pieces.append((token.text, token))
        pos = token.end
    if pos < len(explanation.text):
        pieces.append((explanation.text[pos:], None))
    return pieces


def _scale(explanation: Explanation) -> float:
    contributions = [abs(t.contribution) for t in explanation.tokens if t.contribution]
    return max(contributions, default=0.0) or 1.0


def _rgb(contribution: float, scale: float) -> tuple[int, int, int]:
    """Background colour: green towards the target class, red away from it, white for
    none."""
    strength = min(1.0, abs(contribution) / scale)
    target = (34, 197, 94) if contribution > 0 else (239, 68, 68)
    return tuple(round(255 + (c - 255) * strength) for c in target)


def _directions(explanation: Explanation) -> tuple[str, str]:
    """Where positive and negative contributions push: towards the target class, and
    towards the other class (two classes) or away from the target (more)."""
    target = explanation.target_class
    others = [c for c in explanation.prediction.probabilities or {} if c != target]
    away = f"towards {others[0]}" if len(others) == 1 else f"away from {target}"
    return f"towards {target}", away


def summary(explanation: Explanation) -> str:
    """One line: the verdict, its probability (two classes: P(second class), as always;
    more: P(verdict)), P(target class) when it is another, and what was read."""
    p = explanation.prediction
    every = p.probabilities or {}
    shown = list(every)[1] if len(every) == 2 else p.label
    line = f"{p.label} (P({shown}) = {p.probability:.4f}"
    target = explanation.target_class
    if target != shown:
        line += f"; explained: P({target}) = {every[target]:.4f}"
    read = "truncated: only part of it was read" if p.truncated else "read in full"
    return f"{line}); {p.tokens - 1} tokens, {read}"


def to_ansi(explanation: Explanation, k: int = 5) -> str:
    """The text with coloured backgrounds (24-bit ANSI), then the top words each way."""
    scale = _scale(explanation)
    shown = []
    for piece, token in _pieces(explanation):
        piece = printable(piece, newlines=True)  # the review's own escape sequences: inert
        if token is None or not token.contribution:  # a gap, 0 or not scored
            shown.append(piece)
        else:
            r, g, b = _rgb(token.contribution, scale)
            shown.append(f"\x1b[48;2;{r};{g};{b}m\x1b[38;2;0;0;0m{piece}\x1b[0m")
    lines = [printable(summary(explanation)), "", "".join(shown), ""]
    for positive, direction in zip((True, False), _directions(explanation), strict=True):
        top = explanation.top(k, positive)
        words = ", ".join(f'"{printable(t.text)}" ({t.contribution:+.4f})' for t in top) or "none"
        lines.append(f"{printable(direction)}: {words}")
    lines.append(printable(explanation.note))
    return "\n".join(lines)


def to_html(explanation: Explanation, title: str = "gru-sentiment explanation") -> str:
    """A self-contained HTML page: verdict, highlighted text (hover: contribution), method."""
    scale = _scale(explanation)
    towards, away = _directions(explanation)
    spans = []
    for piece, token in _pieces(explanation):
        escaped = html.escape(piece).replace("\n", "<br>")
        if token is None or token.contribution is None:
            spans.append(escaped)
            continue
        r, g, b = _rgb(token.contribution, scale)
        spans.append(
            f'<span style="background:rgb({r},{g},{b})" '
            f'title="{token.contribution:+.4f}">{escaped}</span>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 16px/1.6 system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; }}
.text {{ border: 1px solid #ddd; padding: 1rem; border-radius: 6px; }}
span {{ border-radius: 3px; }}
</style></head><body>
<h1>{html.escape(summary(explanation))}</h1>
<p>{html.escape(explanation.note)} Green: {html.escape(towards)}; red: {html.escape(away)}.</p>
<div class="text">{"".join(spans)}</div>
</body></html>
"""
