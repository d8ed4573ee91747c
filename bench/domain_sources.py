"""Cross-domain sentiment sets: where each one lives, how to read it, and a pinned md5.

The GRU is trained on IMDB movie reviews; these sets measure how it transfers to other kinds
of English text (phone and kitchen product reviews, restaurant sentences, airline tweets,
general tweets). Every set is binary after parsing: 0 = negative, 1 = positive; rows labelled
neutral (or anything else) are dropped. None of them is IMDB or derived from it.

Each source is a file (or files) in a public GitHub repository, pinned by commit and by the md5
of its bytes, so a changed or re-encoded copy fails loudly instead of shifting the numbers.
Several sets sit at an older commit of their repository because later commits edited the data.

Getting the mirrors: no network is needed here, only bare git directories. In the agent
sessions of this project the `fetch` tool brings a repository snapshot: `fetch
github:OWNER/NAME` puts it under `/work/.mirror/OWNER+NAME/` (the git directory is `repo/` or
`repo/.git/` inside it). Elsewhere `git clone --bare https://github.com/OWNER/NAME
MIRROR/OWNER+NAME/repo` gives the same layout. Then:

    python3 bench/domain_sources.py --mirror /work/.mirror --cache /tmp/domains

writes `<cache>/<name>.jsonl` per set, one {"text", "label", "split"} object a line, with label
"negative"|"positive" and split "train"|"dev"|"test": the official split where the source has
one (the tweet test set is itself an official test set), else a stratified 60/20/20 split drawn
with numpy's seed 0, so every machine gets the same rows in the same splits.
Only numpy and the standard library are needed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import io
import json
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Rows = list[tuple[str, int]]
LABEL_NAMES = ("negative", "positive")
SPLITS = ("train", "dev", "test")
SPLIT_FRACTIONS = (0.6, 0.2)  # train, dev; test takes the rest
SEED = 0
DEFAULT_CACHE = Path.home() / ".cache" / "gru-sentiment" / "domains"


@dataclass(frozen=True)
class Source:
    """One set: the files at a pinned commit and how to turn their bytes into rows.

    `paths` and `md5s` run in parallel; `parse` names a function of this module taking the
    files' bytes in that order (names, not callables, keep the table plain data). `official`
    is the split every row belongs to when the file is itself an official split; None means
    there is none and the seeded 60/20/20 split is used.
    """

    repo: str
    commit: str
    paths: tuple[str, ...]
    md5s: tuple[str, ...]
    kind: str
    parse: str
    official: str | None = None


def _decode(raw: bytes) -> str:
    """UTF-8, with a BOM tolerated: every pinned file decodes strictly, so a failure here means
    the bytes are not the pinned ones."""
    return raw.decode("utf-8-sig")


def _unescape(text: str) -> str:
    """Undo HTML escaping until nothing changes (three rounds at most): tweets come escaped
    once (`&amp;`), and copies of the review files escape some entities twice (`&amp;lt;`);
    the model should see `&` and `<` as a reader did, whichever copy was pinned."""
    for _ in range(3):
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return text


def parse_tab_labelled(raw: bytes) -> Rows:
    """Kotzias et al. (2015) sentences: `sentence<TAB>0|1` a line, no header.

    The label is split off the right, since a sentence may hold a tab; a line without a 0/1
    label is an error rather than a silent drop, as the files are pinned and have none.
    """
    rows: Rows = []
    for number, line in enumerate(_decode(raw).splitlines(), start=1):
        if not line.strip():
            continue
        text, _, label = line.rpartition("\t")
        if label.strip() not in ("0", "1") or not text.strip():
            raise ValueError(f"line {number} is not 'sentence<TAB>0|1': {line[:80]!r}")
        rows.append((text.strip(), int(label)))
    return rows


def parse_airline_tweets(raw: bytes) -> Rows:
    """Twitter US Airline Sentiment (CrowdFlower, Feb 2015), Kaggle's Tweets.csv: a header
    row, `airline_sentiment` in negative/neutral/positive and the tweet in `text`, HTML-escaped
    as Twitter's API gave it (`&amp;`), which is undone. Neutral tweets are dropped."""
    rows: Rows = []
    for record in csv.DictReader(io.StringIO(_decode(raw), newline="")):
        sentiment = record["airline_sentiment"]
        if sentiment in LABEL_NAMES:
            rows.append((_unescape(record["text"]).strip(), LABEL_NAMES.index(sentiment)))
    return rows


def parse_sentiment140_test(raw: bytes) -> Rows:
    """Go et al. (2009) hand-labelled test tweets: headerless CSV `polarity, id, date, query,
    user, text` with polarity 0 (negative), 2 (neutral) or 4 (positive), the text HTML-escaped
    as Twitter's API gave it, which is undone. Neutral is dropped."""
    rows: Rows = []
    for record in csv.reader(io.StringIO(_decode(raw), newline="")):
        polarity, text = record[0], record[5]
        if polarity in ("0", "4"):
            rows.append((_unescape(text).strip(), int(polarity == "4")))
    return rows


_REVIEW = re.compile(r"<review>(.*?)</review>", re.S)
_REVIEW_TEXT = re.compile(r"<review_text>(.*?)</review_text>", re.S)


def parse_multi_domain(negative: bytes, positive: bytes) -> Rows:
    """Blitzer et al. (2007) Multi-Domain Sentiment Dataset, one product domain: 1,000
    reviews a file in pseudo-XML `<review>` blocks (negative = 1-2 stars, positive = 4-5).
    Only `<review_text>` is kept (not the title), so the texts are what a reader wrote."""
    rows: Rows = []
    for label, raw in enumerate((negative, positive)):
        for block in _REVIEW.findall(_decode(raw)):
            match = _REVIEW_TEXT.search(block)
            if match is None:
                raise ValueError(f"a {LABEL_NAMES[label]} review has no <review_text>")
            rows.append((_unescape(match.group(1)).strip(), label))
    return rows


_MDSD_REPO = "bzantium/bert-AAD"
_MDSD_COMMIT = "cbe2e0cac6564dfbc6234882a73ca78020ac0d22"

SOURCES: dict[str, Source] = {
    "amazon_cells": Source(
        repo="AlanCIO/Disruptora_SentimentAnalysis",
        commit="26090595bf8b172d8a66a6e2866a2b114496e710",
        paths=("amazon_cells_labelled.txt",),
        md5s=("f737b1e64487b2d2518fcefdb0257e63",),
        kind="product review sentences (phones and accessories, Kotzias et al. 2015)",
        parse="parse_tab_labelled",
    ),
    "yelp": Source(
        repo="rushabh7cr/Sentiment-Classifier-using-naive-bayes",
        commit="60b3211cf920faf6ee7e6c68114b3c272cfa4421",
        paths=("yelp_labelled.txt",),
        md5s=("3a7fe2c38dc373d2ca8e687d6226a82e",),
        kind="restaurant review sentences (Yelp, Kotzias et al. 2015)",
        parse="parse_tab_labelled",
    ),
    "airline_tweets": Source(
        repo="eidehua/Real-Time-SciVi",
        commit="cd0faf96aa3e0378310408039298362c87c1d3b2",
        paths=("twitter-airline-sentiment/Tweets.csv",),
        md5s=("2fa808ea99b32814ccd64d7097d935f2",),
        kind="tweets to US airlines (CrowdFlower/Kaggle, neutral dropped)",
        parse="parse_airline_tweets",
    ),
    "sentiment140_test": Source(
        repo="JonasLopezMesa/Twitter-Sentiments",
        commit="c265f6e7c8e2fe8371ed4fad90ba4c3eb449b472",
        paths=("testdata.manual.2009.06.14.csv",),
        md5s=("44464826a4d60db268e13fcd3cfebfe1",),
        kind="general tweets, hand-labelled test set (Go et al. 2009, neutral dropped)",
        parse="parse_sentiment140_test",
        official="test",
    ),
    "mdsd_electronics": Source(
        repo=_MDSD_REPO,
        commit=_MDSD_COMMIT,
        paths=("data/electronics/negative.review", "data/electronics/positive.review"),
        md5s=("c7be128b07475b8cbfbd8a7677cbc8b7", "3bd7fe3dc6915631f97b220e2ea95272"),
        kind="Amazon electronics reviews (Blitzer et al. 2007)",
        parse="parse_multi_domain",
    ),
    "mdsd_kitchen": Source(
        repo=_MDSD_REPO,
        commit=_MDSD_COMMIT,
        paths=("data/kitchen/negative.review", "data/kitchen/positive.review"),
        md5s=("dbc6e7695849fac1d2ad697cb461a68a", "975b99cd67dbaaddd1a878cdcb54f90e"),
        kind="Amazon kitchen and housewares reviews (Blitzer et al. 2007)",
        parse="parse_multi_domain",
    ),
}


def git_dir(mirror_dir: Path, repo: str) -> Path:
    """The git directory of `repo` under `mirror_dir`: `OWNER+NAME/repo/.git` when the
    snapshot is a clone with a work tree, `OWNER+NAME/repo` when it is bare (both occur)."""
    base = mirror_dir / repo.replace("/", "+")
    for candidate in (base / "repo" / ".git", base / "repo", base):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    raise FileNotFoundError(f"no git directory for {repo} under {base}: fetch github:{repo}")


def read_file(git: Path, commit: str, path: str) -> bytes:
    """The bytes of `path` at `commit`, straight from the object store (no checkout, so
    no line-ending or LFS filters can touch them)."""
    done = subprocess.run(
        ["git", f"--git-dir={git}", "show", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise FileNotFoundError(f"{commit}:{path} in {git}: {message[-1] if message else '?'}")
    return done.stdout


def stratified_splits(labels: np.ndarray, seed: int = SEED) -> np.ndarray:
    """A split name per row: within each label a seeded permutation of the row indices
    gives the first 60% to train, the next 20% to dev and the rest to test, so every
    split keeps the set's label balance and the draw never depends on the machine."""
    rng = np.random.default_rng(seed)
    splits = np.empty(len(labels), dtype=object)
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_train = round(len(rows) * SPLIT_FRACTIONS[0])
        n_dev = round(len(rows) * SPLIT_FRACTIONS[1])
        splits[rows[:n_train]] = "train"
        splits[rows[n_train : n_train + n_dev]] = "dev"
        splits[rows[n_train + n_dev :]] = "test"
    return splits


def load(name: str, mirror_dir: Path) -> Rows:
    """The (text, label) rows of set `name`, after checking every file against its md5."""
    source = SOURCES[name]
    git = git_dir(mirror_dir, source.repo)
    files = []
    for path, expected in zip(source.paths, source.md5s, strict=True):
        raw = read_file(git, source.commit, path)
        actual = hashlib.md5(raw).hexdigest()
        if actual != expected:
            raise ValueError(
                f"{source.repo}@{source.commit[:12]}:{path}: md5 {actual}, expected {expected}"
            )
        files.append(raw)
    parse: Callable[..., Rows] = globals()[source.parse]
    return parse(*files)


def get(name: str, mirror_dir: Path, cache_dir: Path) -> Path:
    """Write `<cache_dir>/<name>.jsonl` from the mirror and return its path.

    It is rewritten on every call (a few MB at most, seconds), so the file always matches
    the pinned bytes and this module's parsing; it is written aside and renamed, so a reader
    never sees half a file.
    """
    source = SOURCES[name]
    rows = load(name, mirror_dir)
    if source.official is not None:
        splits = np.full(len(rows), source.official, dtype=object)
    else:
        splits = stratified_splits(np.array([label for _, label in rows]))
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"{name}.jsonl"
    partial = out.with_suffix(".jsonl.part")
    with partial.open("w", encoding="utf-8") as handle:
        for (text, label), split in zip(rows, splits, strict=True):
            record = {"text": text, "label": LABEL_NAMES[label], "split": str(split)}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    partial.replace(out)
    return out


def summary(path: Path) -> list[str]:
    """Lines of rows per split and label, with the mean length in words, for a written set."""
    counts: Counter[tuple[str, str]] = Counter()
    words: Counter[str] = Counter()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            counts[record["split"], record["label"]] += 1
            words[record["split"]] += len(record["text"].split())
    lines = []
    for split in SPLITS:
        n = counts[split, "negative"] + counts[split, "positive"]
        if n:
            lines.append(
                f"  {split:<5} negative {counts[split, 'negative']:>5}  "
                f"positive {counts[split, 'positive']:>5}  mean words {words[split] / n:6.1f}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, required=True, help="holds OWNER+NAME/ snapshots")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("names", nargs="*", default=list(SOURCES), help="sets (default: all)")
    args = parser.parse_args()
    for name in args.names:
        path = get(name, args.mirror, args.cache)
        print(f"{name}: {SOURCES[name].kind}\n  -> {path}")
        print("\n".join(summary(path)))


if __name__ == "__main__":
    main()
