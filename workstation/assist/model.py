"""The category model: how people talk about a problem -> which of the 118 categories it is.

A linear support-vector classifier (scikit-learn) over two kinds of features of the normalised text:
character 1-3-grams (robust to unseen words and typos) and words from the jieba segmenter (its
dictionary extended with the lexicon's phrases), each tf-idf weighted. Its decision values are made
probabilities by sigmoid calibration on held-out folds (``CalibratedClassifierCV``, three folds, the
three fold models averaged), so a 0.9 means right about nine times in ten on text like the training
text; residents write less like it, and on their text the model is right more often than that says,
so the probabilities are sharpened by a temperature fitted on development sets of residents' texts
(``TEMPERATURE``; it keeps the order).

It learns from two sources:

- the cold-start data shipped in ``resources/assist/``: ``examples.json`` (reports composed by
  ``scripts/gen_assist_examples.py`` from the hand-written ``lexicon.txt``), the lexicon's own
  phrases and the catalogue's names and keywords;
- the operators' decisions: ``train(history)`` takes ``(text, category)`` of filed cases (a
  correction re-files, so the final category is what counts). The most recent ``HISTORY_LIMIT``
  distinct texts are used, weighed by ``history_weights`` (a phrasing repeated in many places counts
  a few times, a category's filed cases at most as much as its shipped examples), and the seed keeps
  at least ``SEED_SHARE`` of the total weight, so a district's own phrasing is learnt without
  forgetting how residents talk about the rest of the catalogue. Filed cases are written from fewer
  phrasings than residents use, so a learnt model's probabilities are combined with the cold model's
  (``COLD_WEIGHT``): what the history teaches adjusts the cold suggestions rather than replacing them.

``train`` is plain Python without Qt or a database: ``workstation.assist.learning`` runs it off the
GUI thread and swaps the result in. ``cold_model()`` caches the trained cold-start model on disk,
keyed by the content of the shipped data and the model's settings (``seed_digest``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
from scipy.special import expit

from workstation.assist.text import bigrams, normalise
from workstation.resources import load_json, resource_path

MODEL_VERSION = 2  # bump when the features or the classifier change: the cached cold model is retrained
HISTORY_LIMIT = 10_000
SEED_SHARE = 0.7
#: A phrasing filed more often than this (same category, same telling words) counts this many times.
REPEAT_LIMIT = 8
#: A category's filed cases weigh together at most this many times its shipped examples.
CATEGORY_LIMIT = 1.0
_C = 0.1  # chosen on the development sets: stronger regularisation generalises better to residents
#: The calibrated probabilities are sharpened by this temperature (p ** (1 / T), renormalised): fitted
#: (least log loss) on the residents' texts of ``assist_dev4.tsv`` and ``assist_dev5.tsv``, where the
#: cold model is right more often than its calibration on the generated training text says.
TEMPERATURE = 0.78
#: A learnt model's probabilities are the weighted geometric mean of its own and the cold model's,
#: this weight on the cold model's (chosen on ``assist_dev5.tsv``): filed cases adjust the suggestions
#: without their few phrasings taking over.
COLD_WEIGHT = 0.5
_FLOOR = 1e-12
_PUNCT = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_STOP = frozenset("的了在是有和与就都也还又被把给着啊吧呢吗呀么我你他她它这那个请")
_log = logging.getLogger(__name__)


# -- the cold-start data ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def lexicon() -> dict[str, dict[str, tuple[str, ...]]]:
    """The hand-written lexicon: per category code, field letter (O P Q E S) -> phrases."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for line in resource_path("assist", "lexicon.txt").read_text(encoding="utf-8").splitlines():
        if not line[:1].isdigit():
            continue
        head, _, items = line.partition(":")
        code, letter = head.split()
        fields = out.setdefault(code, {})
        fields[letter] = fields.get(letter, ()) + tuple(i.strip() for i in items.split("|") if i.strip())
    return out


def catalogue_docs() -> list[tuple[str, str]]:
    """(text, code) of the catalogue: each name, and name with keywords."""
    docs = []
    for major in load_json("catalogue.json")["majors"]:
        for minor in major["minors"]:
            docs.append((minor["name"], minor["code"]))
            docs.append((minor["name"] + " " + " ".join(minor.get("keywords") or []), minor["code"]))
    return docs


def seed_examples() -> list[tuple[str, str]]:
    """(text, code) the cold model learns from: composed reports, lexicon phrases, the catalogue."""
    examples = [(text, code) for code, text in load_json("assist", "examples.json")["examples"]]
    for code, fields in sorted(lexicon().items()):
        examples += [(phrase, code) for letter in "QSE" for phrase in fields.get(letter, ())]
        objects, problems = fields.get("O", ()), fields.get("Q", ())
        examples += [(o + q, code) for o, q in zip(objects, problems, strict=False)]
    return examples + catalogue_docs()


# -- features -----------------------------------------------------------------------------------------

_tokenizer_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.initialize()
            for fields in lexicon().values():
                for letter in "OPQ":
                    for phrase in fields.get(letter, ()):
                        if 2 <= len(phrase) <= 5 and not _PUNCT.search(phrase):
                            tok.add_word(phrase, freq=2000)
            _tokenizer = tok
    return _tokenizer


def words(text: str) -> list[str]:
    """The jieba words of the normalised text, without punctuation and the commonest function words."""
    return [w for w in _jieba().lcut(normalise(text)) if not _PUNCT.fullmatch(w) and w not in _STOP]


def _features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, preprocessor=normalise, min_df=2)
    toks = TfidfVectorizer(
        tokenizer=words, token_pattern=None, lowercase=False, sublinear_tf=True, ngram_range=(1, 2), min_df=1
    )
    return FeatureUnion([("chars", chars), ("words", toks)])


# -- the model ----------------------------------------------------------------------------------------


@dataclass
class CategoryModel:
    """A trained model: ``probabilities(text)`` per category, and the words that decided it."""

    features: Any
    classifier: Any
    classes: tuple[str, ...]
    seed_size: int
    history_size: int
    seconds: float
    trained_at: float = field(default_factory=time.time)

    def _names(self) -> Any:
        """The feature names (built once per model: there are about a hundred thousand)."""
        names = self.__dict__.get("_feature_names")
        if names is None:
            names = self.features.get_feature_names_out()
            self.__dict__["_feature_names"] = names
        return names

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_feature_names", None)  # rebuilt on first use, not cached on disk
        state.pop("_fold_arrays", None)
        state.pop("_last_row", None)
        state.pop("_class_positions", None)
        return state

    def _row(self, text: str) -> Any:
        last = self.__dict__.get("_last_row")
        if last is not None and last[0] == text:
            return last[1]  # the suggestion's probabilities and reasons read the same text
        row = self.features.transform([text]).tocsr()
        self.__dict__["_last_row"] = (text, row)
        return row

    def _folds(self) -> list[tuple[Any, Any, Any, Any, Any]]:
        """Per calibrated fold: weights, intercepts, sigmoid a and b, class positions (built once)."""
        folds = self.__dict__.get("_fold_arrays")
        if folds is None:
            folds = []
            for fold in self.classifier.calibrated_classifiers_:
                est = fold.estimator
                a = np.array([cal.a_ for cal in fold.calibrators], dtype=np.float64)
                b = np.array([cal.b_ for cal in fold.calibrators], dtype=np.float64)
                where = np.searchsorted(self.classifier.classes_, est.classes_)
                folds.append((est.coef_.T, est.intercept_, a, b, where))
            self.__dict__["_fold_arrays"] = folds
        return folds

    @property
    def learnt(self) -> bool:
        """Whether the model learnt from filed cases as well as the shipped data."""
        return self.history_size > 0 and self.seed_size > 0

    def probabilities(self, text: str) -> dict[str, float]:
        """Every category's probability for the text (they sum to 1).

        The classifier's calibrated probabilities (``calibrated``); a learnt model's are combined
        with the cold model's (weighted geometric mean, ``COLD_WEIGHT``; a category the cold model
        does not know keeps the learnt model's own); then sharpened by ``TEMPERATURE``, which keeps
        their order.
        """
        logs = np.log(np.maximum(self.calibrated(text), _FLOOR))
        if self.learnt and COLD_WEIGHT > 0:
            cold = cold_model()
            cold_logs = logs.copy()
            where = self._positions(cold)
            cold_logs[where[0]] = np.log(np.maximum(cold.calibrated(text), _FLOOR))[where[1]]
            logs = COLD_WEIGHT * cold_logs + (1.0 - COLD_WEIGHT) * logs
        logs = logs / TEMPERATURE
        probs = np.exp(logs - logs.max())
        probs /= probs.sum()
        return dict(zip(self.classes, (float(p) for p in probs), strict=True))

    def _positions(self, other: CategoryModel) -> tuple[Any, Any]:
        """Positions of the classes both models know: in this model's classes, in the other's."""
        key = other.classes
        found = self.__dict__.get("_class_positions")
        if found is None or found[0] != key:
            theirs = {code: i for i, code in enumerate(other.classes)}
            mine = [i for i, code in enumerate(self.classes) if code in theirs]
            found = (key, (np.array(mine, dtype=int), np.array([theirs[self.classes[i]] for i in mine], dtype=int)))
            self.__dict__["_class_positions"] = found
        return found[1]

    def calibrated(self, text: str) -> Any:
        """The classifier's calibrated probabilities, in the order of ``classes`` (an array).

        The same numbers as ``classifier.predict_proba``, computed with whole arrays: scikit-learn
        calls each of the 3 × 118 sigmoids separately, about 40 ms a text.
        """
        row = self._row(text).tocsr()
        n = len(self.classes)
        total = np.zeros(n)
        folds = self._folds()
        for weights, intercept, a, b, where in folds:
            decision = row.data @ weights[row.indices] + intercept  # only the text's features
            proba = np.zeros(n)
            proba[where] = expit(-(a * decision + b))
            mass = proba.sum()
            total += proba / mass if mass > 0 else np.full(n, 1.0 / n)
        return total / len(folds)

    def ranked(self, text: str, limit: int = 3) -> list[tuple[str, float]]:
        """The ``limit`` likeliest categories: (code, probability), best first, ties by code."""
        probs = self.probabilities(text)
        return sorted(probs.items(), key=lambda item: (-item[1], item[0]))[:limit]

    def evidence(self, text: str, code: str, limit: int = 3) -> list[str]:
        """The words of the text that speak most for the category, strongest first."""
        if code not in self.classes:
            return []
        base = self.classifier.calibrated_classifiers_[0].estimator
        row = self._row(text).tocsr()
        coef = base.coef_[self.classes.index(code)]
        names = self._names()
        scored = []
        for col, value in zip(row.indices, row.data, strict=True):
            name = str(names[col])
            term = name.removeprefix("words__").replace(" ", "")
            if name.startswith("words__") and len(term) >= 2 and not term.isdigit():
                weight = float(value * coef[col])
                if weight > 0:
                    scored.append((weight, term))
        scored.sort(key=lambda item: (-item[0], item[1]))
        out: list[str] = []
        for _w, term in scored:
            if not any(term in kept or kept in term for kept in out):
                out.append(term)
        return out[:limit]


def _fit(texts: Sequence[str], labels: Sequence[str], weights: np.ndarray | None) -> tuple[Any, Any]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    features = _features()
    matrix = features.fit_transform(texts)
    classifier = CalibratedClassifierCV(LinearSVC(C=_C, tol=0.01), method="sigmoid", cv=3, ensemble=True)
    classifier.fit(matrix, list(labels), sample_weight=weights)
    for fold in classifier.calibrated_classifiers_:  # halves the model in memory and in the cache
        fold.estimator.coef_ = fold.estimator.coef_.astype(np.float32)
    return features, classifier


@lru_cache(maxsize=1)
def _telling_bigrams() -> frozenset[str]:
    """Character bigrams of the lexicon that belong to at most three categories: what a report is about."""
    owners: dict[str, set[str]] = {}
    for code, fields in lexicon().items():
        for phrases in fields.values():
            for phrase in phrases:
                for gram in bigrams(phrase):
                    owners.setdefault(gram, set()).add(code)
    return frozenset(gram for gram, codes in owners.items() if len(codes) <= 3)


def history_weights(recent: Sequence[tuple[str, str]], seed_per_code: dict[str, float]) -> np.ndarray:
    """The weight of each filed case, before the seed's share is applied.

    Filed reports repeat a few phrasings in many places (a district's regular complaints, a
    channel's boilerplate, the demo world's templates): the texts of one category that share the
    same telling words (bigrams of the lexicon that name few categories; places and boilerplate are
    not among them) count together at most ``REPEAT_LIMIT`` times; and a category's filed cases
    together weigh at most ``CATEGORY_LIMIT`` times its shipped examples, so a common category does
    not crowd the rare ones out of the first three suggestions.
    """
    telling = _telling_bigrams()
    keys = [(code, bigrams(text) & telling) for text, code in recent]
    groups: dict[tuple[str, frozenset[str]], int] = {}
    for key in keys:
        groups[key] = groups.get(key, 0) + 1
    weights = np.array([min(1.0, REPEAT_LIMIT / groups[key]) for key in keys])
    per_code: dict[str, float] = {}
    for (code, _t), w in zip(keys, weights, strict=True):
        per_code[code] = per_code.get(code, 0.0) + float(w)
    for i, (code, _t) in enumerate(keys):
        cap = CATEGORY_LIMIT * seed_per_code.get(code, 0.0)
        if cap and per_code[code] > cap:
            weights[i] *= cap / per_code[code]
    return weights


def train(history: Iterable[tuple[str, str]] = (), *, seed: bool = True) -> CategoryModel:
    """Train a model from the cold-start data and the filed cases.

    Args:
        history: ``(text, category code)`` of filed cases, oldest first; only the most recent
            ``HISTORY_LIMIT`` distinct texts are used (a text filed twice counts with its latest code).
            Repeated phrasings and common categories are weighed down (``history_weights``), and
            the shipped data keeps at least ``SEED_SHARE`` of the total weight.
        seed: also learn from the shipped cold-start data (without it, every category must occur in
            the history at least three times).

    Returns:
        The trained model; it does not change afterwards (swap in a new one to learn more).
    """
    started = time.perf_counter()
    latest: dict[str, str] = {}
    for text, code in history:
        if text and code:
            latest.pop(text, None)
            latest[text] = code
    recent = list(latest.items())[-HISTORY_LIMIT:]
    base = seed_examples() if seed else []
    texts = [t for t, _c in base] + [t for t, _c in recent]
    labels = [c for _t, c in base] + [c for _t, c in recent]
    weights = None
    if base and recent:
        seed_per_code: dict[str, float] = {}
        for _t, code in base:
            seed_per_code[code] = seed_per_code.get(code, 0.0) + 1.0
        learnt = history_weights(recent, seed_per_code)
        seed_weight = max(1.0, SEED_SHARE / (1 - SEED_SHARE) * float(learnt.sum()) / len(base))
        weights = np.concatenate([np.full(len(base), seed_weight), learnt])
    features, classifier = _fit(texts, labels, weights)
    classes = tuple(str(c) for c in classifier.classes_)
    return CategoryModel(features, classifier, classes, len(base), len(recent), time.perf_counter() - started)


# -- the cached cold-start model --------------------------------------------------------------------------


def _cache_dir() -> Path:
    configured = os.environ.get("WORKSTATION_CACHE_DIR")
    if configured:
        return Path(configured)
    try:
        return Path(platformdirs.user_cache_dir("grid-workstation"))
    except Exception:
        return Path(tempfile.gettempdir()) / "grid-workstation"


@lru_cache(maxsize=1)
def seed_digest() -> str:
    """What the cold model depends on: the shipped data, the model's version and settings."""
    h = hashlib.sha256()
    for parts in (("assist", "examples.json"), ("assist", "lexicon.txt"), ("catalogue.json",)):
        h.update(resource_path(*parts).read_bytes())
    h.update(f"{MODEL_VERSION}:{_C}:{HISTORY_LIMIT}:{SEED_SHARE}:{REPEAT_LIMIT}:{CATEGORY_LIMIT}".encode())
    return h.hexdigest()[:16]


_cold_lock = threading.Lock()
_cold: CategoryModel | None = None


def cold_ready() -> bool:
    """Whether the cold-start model is in memory (``cold_model()`` returns at once)."""
    return _cold is not None


def cold_model() -> CategoryModel:
    """The model of the shipped data alone: from memory, from the disk cache, or trained (~10 s)."""
    global _cold
    with _cold_lock:
        if _cold is not None:
            return _cold
        path = _cache_dir() / f"assist-cold-{seed_digest()}.pickle"
        try:
            with path.open("rb") as f:
                model = pickle.load(f)
            if isinstance(model, CategoryModel):
                _cold = model
                return model
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass
        model = train()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob("assist-cold-*.pickle"):
                old.unlink(missing_ok=True)  # made from other shipped data
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                pickle.dump(model, f)
            tmp.replace(path)
        except OSError as exc:
            _log.warning("cannot cache the category model in %s: %s", path, exc)
        _cold = model
        return model
