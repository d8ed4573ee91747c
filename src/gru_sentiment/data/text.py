"""Text to token ids and back: a word-level Hugging Face tokenizer, plus padding.

Reserved ids follow the tutorial (Keras' IMDB convention): 0 padding, 1 start,
2 unknown, 3 unused. Words get ids 4 .. vocab_size-1, most frequent first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

from ..config import KEEP

PAD, START, UNK, UNUSED = "<pad>", "<start>", "<unk>", "<unused>"
RESERVED = (PAD, START, UNK, UNUSED)
PAD_ID, START_ID, UNK_ID = 0, 1, 2


# Words keep inner apostrophes ("don't"); every other punctuation mark is its own token;
# scripts written without spaces (Chinese, Japanese) give a token per character.
UNSPACED = r"\p{Han}\p{Hiragana}\p{Katakana}"
WORD_PATTERN = rf"[{UNSPACED}]|(?:(?![{UNSPACED}])[\w'])+|[^\w\s]"


class TextEncoder:
    """Normalise (`<br />` -> space, NFKC, lowercase; accents kept unless `strip_accents`),
    split into words and punctuation in any script, map to ids; `<start>` is prepended to
    every review as in the tutorial."""

    def __init__(self, tokenizer: Tokenizer):
        # A review that spells "<pad>" or "<start>" gets words, not the reserved ids
        # (a padding id inside a review would cut it short under the mask). Not saved in
        # tokenizer.json, so set on every load.
        tokenizer.encode_special_tokens = True
        self.tokenizer = tokenizer

    @classmethod
    def fit(cls, texts: Sequence[str], vocab_size: int, strip_accents: bool = False) -> TextEncoder:
        """Vocabulary of the `vocab_size - 4` most frequent training words; with
        `strip_accents`, "película" and "pelicula" are one word."""
        steps = [normalizers.Replace(Regex(r"<br\s*/?>"), " "), normalizers.NFKC()]
        if strip_accents:  # decompose, drop the combining marks, compose again
            steps += [normalizers.NFD(), normalizers.StripAccents(), normalizers.NFC()]
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
        tokenizer.normalizer = normalizers.Sequence([*steps, normalizers.Lowercase()])
        tokenizer.pre_tokenizer = pre_tokenizers.Split(
            Regex(WORD_PATTERN), behavior="removed", invert=True
        )
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=list(RESERVED))
        tokenizer.train_from_iterator(texts, trainer=trainer)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{START} $A", special_tokens=[(START, START_ID)]
        )
        return cls(tokenizer)

    @classmethod
    def load(cls, path: str | Path) -> TextEncoder:
        return cls(Tokenizer.from_file(str(path)))

    def save(self, path: str | Path) -> None:
        self.tokenizer.save(str(path))

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One int32 id array per text, of its own length (start token included)."""
        # encode_batch_fast: in parallel, without the character offsets (explain uses encode)
        encodings = self.tokenizer.encode_batch_fast(list(texts))
        return [np.array(e.ids, np.int32) for e in encodings]

    def tokens(self, text: str) -> list[str]:
        """The words of `text` as the model sees them (without the start token)."""
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

    def decode(self, ids: Sequence[int]) -> str:
        """Ids back to words; reserved ids show as `<pad>`, `<start>`, `<unk>`."""
        return " ".join(self.tokenizer.id_to_token(int(i)) or UNK for i in ids)


def fit_length(seq: np.ndarray, max_len: int, keep: str = "head") -> np.ndarray:
    """`seq` cut to `max_len` ids, keeping its "head" (beginning), its "tail" (end) or
    "head+tail" (half each)."""
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {', '.join(KEEP)}, not {keep!r}")
    if len(seq) <= max_len:
        return seq
    if keep == "head":
        return seq[:max_len]
    if keep == "tail":
        return seq[len(seq) - max_len :]
    head = max_len // 2
    return np.concatenate([seq[:head], seq[len(seq) - (max_len - head) :]])


def pad(
    seqs: Sequence[np.ndarray],
    max_len: int,
    padding: str = "post",
    keep: str = "head",
) -> np.ndarray:
    """(n, max_len) int32 matrix of ids, 0 = padding.

    `padding="post"` (the default) puts padding at the end, so a mask on id 0 is
    right-padded: the only layout cuDNN GRUs accept with masks.
    """
    if padding not in ("post", "pre"):
        raise ValueError(f"padding must be 'post' or 'pre', not {padding!r}")
    out = np.zeros((len(seqs), max_len), np.int32)
    for row, seq in enumerate(seqs):
        kept = fit_length(seq, max_len, keep)
        if padding == "post":
            out[row, : len(kept)] = kept
        else:
            out[row, max_len - len(kept) :] = kept
    return out
