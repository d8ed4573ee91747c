"""Which words pushed a prediction which way, by OCCLUSION.

Each word (or punctuation mark) is removed from the review in turn, exactly as if it had
not been written, and the review is scored again by the whole model (the n-gram branch
and stack included, for a hybrid run). A word's contribution is P(positive) with it
minus P(positive) without it: positive pushed towards "positive", negative towards
"negative". The scores are what the model does, not a gradient approximation of it, so
removing the words with the largest positive contributions lowers P(positive).

A pure GRU run never sees the words outside the part of a long review it reads:
removing them changes nothing, so their contribution is 0 without scoring them.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..data.tables import text_error
from ..data.text import fit_length

if TYPE_CHECKING:
    from .model import Prediction, SentimentModel

METHOD = "occlusion"
METHOD_NOTE = (
    "Contributions by occlusion: how much P(positive) drops when the word is removed "
    "(positive: the word pushed towards positive)."
)


@dataclass(frozen=True)
class Token:
    """One word or punctuation mark, located in the original text."""

    text: str  # as written (the model sees it normalised, maybe as <unk>)
    start: int  # character offsets into the original text
    end: int
    contribution: float  # P(positive) - P(positive without this token)
    read: bool  # inside the part of a long review the recurrent model reads


@dataclass(frozen=True)
class Explanation:
    text: str
    prediction: Prediction
    tokens: list[Token]
    method: str = METHOD
    note: str = field(default=METHOD_NOTE)

    def top(self, k: int = 5, positive: bool = True) -> list[Token]:
        """The `k` tokens that pushed hardest towards positive (or negative)."""
        sign = 1 if positive else -1
        ranked = sorted(self.tokens, key=lambda t: -sign * t.contribution)
        return [t for t in ranked[:k] if sign * t.contribution > 0]

    def to_dict(self) -> dict:
        return asdict(self)


def occlusion(model: SentimentModel, text: str, keep: str) -> Explanation:
    """Explain `model`'s prediction on `text` (raises ValueError for an unusable text)."""
    error = text_error(text)
    if error:
        raise ValueError(error)
    encoding = model.encoder.tokenizer.encode(text)  # <start>, then one id per token
    spans = encoding.offsets[1:]  # character offsets of token i, which is id i + 1
    read = set(fit_length(np.arange(len(encoding.ids)), model.cfg.max_len, keep).tolist())
    occluded = [i for i in range(len(spans)) if i + 1 in read or model.ngram is not None]
    # A space in place of the word: its neighbours stay apart (no new word is formed).
    variants = [text[: spans[i][0]] + " " + text[spans[i][1] :] for i in occluded]
    probs, _ = model.score([text, *variants], keep)  # row 0: the review as written
    drop = dict(zip(occluded, probs[0] - probs[1:], strict=True))
    tokens = [
        Token(
            text=text[start:end],
            start=start,
            end=end,
            contribution=round(float(drop.get(i, 0.0)), 6),
            read=i + 1 in read,
        )
        for i, (start, end) in enumerate(spans)
    ]
    return Explanation(text, model.verdict(probs[0], len(encoding.ids)), tokens)


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
    return max((abs(t.contribution) for t in explanation.tokens), default=0.0) or 1.0


def _rgb(contribution: float, scale: float) -> tuple[int, int, int]:
    """Background colour: green for positive, red for negative, white for none."""
    strength = min(1.0, abs(contribution) / scale)
    target = (34, 197, 94) if contribution > 0 else (239, 68, 68)
    return tuple(round(255 + (c - 255) * strength) for c in target)


def summary(explanation: Explanation) -> str:
    """One line: the verdict, its probability and what was read."""
    p = explanation.prediction
    read = "truncated: only part of it was read" if p.truncated else "read in full"
    return f"{p.label} (P(positive) = {p.probability:.4f}); {p.tokens - 1} tokens, {read}"


def to_ansi(explanation: Explanation, k: int = 5) -> str:
    """The text with coloured backgrounds (24-bit ANSI), then the top words each way."""
    scale = _scale(explanation)
    shown = []
    for piece, token in _pieces(explanation):
        if token is None or token.contribution == 0:
            shown.append(piece)
        else:
            r, g, b = _rgb(token.contribution, scale)
            shown.append(f"\x1b[48;2;{r};{g};{b}m\x1b[38;2;0;0;0m{piece}\x1b[0m")
    lines = [summary(explanation), "", "".join(shown), ""]
    for positive, name in ((True, "positive"), (False, "negative")):
        top = explanation.top(k, positive)
        words = ", ".join(f'"{t.text}" ({t.contribution:+.4f})' for t in top) or "none"
        lines.append(f"towards {name}: {words}")
    lines.append(explanation.note)
    return "\n".join(lines)


def to_html(explanation: Explanation, title: str = "gru-sentiment explanation") -> str:
    """A self-contained HTML page: verdict, highlighted text (hover: contribution), method."""
    scale = _scale(explanation)
    spans = []
    for piece, token in _pieces(explanation):
        escaped = html.escape(piece).replace("\n", "<br>")
        if token is None:
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
<p>{html.escape(explanation.note)} Green: towards positive; red: towards negative.</p>
<div class="text">{"".join(spans)}</div>
</body></html>
"""
