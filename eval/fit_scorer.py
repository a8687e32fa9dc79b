"""Fit the answer scorer: weights over the named features on the train split, the abstention threshold on
train's out-of-fold answers and the dev split; writes app/answer/weights.json. The test split and the
staff questions are never read here.

    python -m eval.fit_scorer [--suites reports busan dacon] [--cache var/fit/hits.pkl]
    python -m eval.fit_scorer --cv 5     # judge a change: cross-validated accuracy, nothing written

A candidate is a positive example when it alone would make a correct answer under the evaluation's
rule (every must_include, or any accept_any, in the rendered text). The candidate weights are fitted
listwise: a softmax over each question's candidates (a conditional logit) puts the most mass on the right
ones, which is what picking the best candidate needs; a pointwise logistic regression, where every
question weighed the same, was right on fewer train and dev questions (0.623 / 0.606 against 0.671 /
0.620, 2026-12-03). A one-variable logistic fit then turns the listwise score into a probability.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from app.answer import Prepared, decide, judge, prepare, rank
from app.answer.features import FEATURES
from app.answer.render import headline, render
from app.answer.scorer import (
    CONFIDENCE_FEATURES,
    WEIGHTS_PATH,
    Scorer,
    confidence_features,
)
from app.config import Settings
from app.engine import Engine

from .gold_tool import GoldItem, load_gold
from .metrics import answer_correct
from .splits import split_of
from .suites import SUITES, Suite

REGULARIZATION = 1.0  # sklearn's default inverse strength; features are standardized first
# L2 strength of the listwise fit on standardized features, chosen on dev among 0.1-100 (0.1-30 gave
# dev 0.613-0.620, 100 gave 0.599)
LISTWISE_L2 = 30.0


@dataclass
class Example:
    item: GoldItem
    prep: Prepared

    @property
    def answerable(self) -> bool:
        return self.item.skill != "unanswerable"

    def correct(self, text: str, abstained: bool) -> bool:
        return answer_correct(text, abstained, self.answerable, self.item.must_include or [],
                              self.item.accept_any or [])


class CachedRetrieval:
    """Retrieval with hits memoized on disk: fitting re-reads features often, retrieval never changes."""

    def __init__(self, inner, memo: dict) -> None:
        self.inner, self.memo = inner, memo
        # a re-ingested index may keep its size, and a re-embedded one its chunks: hits are only reused for
        # the very same chunks and vectors
        chunks = inner.index.chunks
        digest = hashlib.sha1("".join(f"{c.id}:{c.kind}:{len(c.text)}" for c in chunks).encode())
        digest.update(np.ascontiguousarray(inner.index.vectors).tobytes())
        self.version = digest.hexdigest()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def hits(self, question: str, files: list[str], k: int):
        key = (self.inner.index.model_id, self.version, question, tuple(files), k)
        if key not in self.memo:
            self.memo[key] = self.inner.hits(question, files, k)
        return self.memo[key]


def collect(suites: list[Suite], splits: set[str], cache: Path) -> list[Example]:
    memo = pickle.loads(cache.read_bytes()) if cache.is_file() else {}
    examples = []
    for s in suites:
        if not s.available() or not s.fit:
            print(f"건너뜀 (skipped): {s.name}", file=sys.stderr)
            continue
        engine = Engine(Settings().with_overrides(corpus_dir=s.corpus, index_dir=s.index_dir))
        retrieval = CachedRetrieval(engine.retrieval(), memo)
        for gold in s.golds:
            for item in load_gold(gold):
                if split_of(item.id) in splits:
                    files = engine.scope_files(item.question)
                    examples.append(Example(item, prepare(retrieval, item.question, files)))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(memo))
    return examples


def own_text(c, intent) -> str:
    """What a candidate itself says: a cell its figure and labels (not the rest of its row, or every cell
    of a right row would count as right), anything else its rendered text."""
    return headline(c) if c.kind in ("cell", "extreme") else render([c], intent.answer_type, intent.words_shown)


def labelled(examples: list[Example]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per question with candidates: their feature matrix and which of them alone answer it."""
    out = []
    for ex in examples:
        cands = ex.prep.candidates
        if not cands:
            continue
        labels = [ex.answerable and ex.correct(own_text(c, ex.prep.intent), False) for c in cands]
        # A row is the right answer only where no single cell of it is: a cell is the more precise answer.
        cell_rows = {id(c.table_row) for c, y in zip(cands, labels) if y and c.kind == "cell"}
        labels = [y and not (c.kind == "row" and id(c.table_row) in cell_rows) for c, y in zip(cands, labels)]
        x = np.array([[c.features[name] for name in FEATURES] for c in cands], dtype=float)
        out.append((x, np.array(labels, dtype=bool)))
    return out


def fit_listwise(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = LISTWISE_L2) -> np.ndarray:
    """Weights maximizing each question's softmax mass on its right candidates (questions with none add
    nothing), L2-penalized on standardized features; returned for the raw feature values."""
    from scipy.optimize import minimize

    every = np.concatenate([x for x, _ in groups])
    mean, scale = every.mean(axis=0), every.std(axis=0)
    scale[scale == 0] = 1.0
    answered = [((x - mean) / scale, y) for x, y in groups if y.any()]
    result = minimize(listwise_loss, np.zeros(every.shape[1]), args=(answered, l2), jac=True, method="L-BFGS-B",
                      options={"maxiter": 500})
    return result.x / scale  # the mean shift is a constant per question: it cancels in the softmax


def listwise_loss(w: np.ndarray, answered: list[tuple[np.ndarray, np.ndarray]], l2: float) -> tuple[float, np.ndarray]:
    """Negative log softmax mass on the right candidates, summed over questions, with its gradient."""
    from scipy.special import logsumexp

    value, grad = 0.5 * l2 * w @ w, l2 * w
    for x, y in answered:
        s = x @ w
        # log-sum-exp on each side: the right candidates' own mass underflows to 0 once they score far
        # below the best, and log(0) turned the line search's loss into inf and its gradient into nan
        every_lse, right_lse = logsumexp(s), logsumexp(s[y])
        value -= right_lse - every_lse
        grad -= x[y].T @ np.exp(s[y] - right_lse) - x.T @ np.exp(s - every_lse)
    return value, grad


def calibrate(groups: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) turning a listwise score into P(the candidate alone is right); each question
    weighs the same, however many candidates it has."""
    scores, ys, weights = [], [], []
    for x, y in groups:
        n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
        scores.extend(x @ w)
        ys.extend(y.astype(int))
        weights.extend(0.5 / n_pos if t else (0.5 if n_pos else 1.0) / max(n_neg, 1) for t in y)
    coef, bias = fit_logistic(np.array(scores)[:, None], np.array(ys), np.array(weights), ("score",))
    return coef["score"], bias


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, names: tuple[str, ...]) -> tuple[dict[str, float], float]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=REGULARIZATION, max_iter=5000)
    model.fit((x - mean) / scale, y, sample_weight=w)
    coef = model.coef_[0] / scale  # folded back, so weights.json applies to the raw feature values
    bias = float(model.intercept_[0] - (coef * mean).sum())
    return {name: round(float(v), 4) for name, v in zip(names, coef)}, round(bias, 4)


def outcomes(examples: list[Example], scorer: Scorer, answer_all: bool = False) -> list[tuple[float, bool, bool]]:
    """Per question: (calibrated confidence, right if answered, right if abstained)."""
    out = []
    for ex in examples:
        comp, conf = judge(ex.prep, scorer)
        out.append((1 if answer_all else conf, ex.correct(comp.text, comp.abstained), not ex.answerable))
    return out


def right_at(results: list[tuple[float, bool, bool]], threshold: float) -> int:
    return sum((ok if conf >= threshold else abstain_ok) for conf, ok, abstain_ok in results)


def accuracy_at(results: list[tuple[float, bool, bool]], threshold: float) -> float:
    return right_at(results, threshold) / len(results) if results else 0.0


def best_of(grid: list[float], score, cautious: bool = False) -> tuple[float, float]:
    """The grid value with the best score; among ties the middle one, away from both edges, or with
    `cautious` the highest: of two abstention thresholds equally often right, the higher one answers
    fewer questions wrongly, and a wrong figure costs a reader more than "문서에서 찾을 수 없습니다"."""
    scores = [score(t) for t in grid]
    best = max(scores)
    ties = [t for t, s in zip(grid, scores) if s == best]
    return (ties[-1] if cautious else ties[len(ties) // 2]), best


GRID = [round(float(t), 3) for t in np.linspace(0.02, 0.98, 49)]
SWEEP = GRID[4::3]  # every third grid point from 0.10: the trade-off table printed after a refit


FOLDS = 5  # out-of-fold candidate scores train the confidence stage, so it sees scores as on unseen questions


@dataclass(frozen=True)
class ThresholdRow:
    """What one abstention threshold does to the pooled questions (train out-of-fold + dev)."""
    threshold: float
    right: int
    unanswerable_abstained: int
    false_abstentions: int  # answerable questions answered right had it answered, abstained on instead


def threshold_table(results: list[tuple[float, bool, bool]], grid: list[float]) -> list[ThresholdRow]:
    """The abstention trade-off per threshold: a higher one stops more unanswerable questions and more right
    answers; printed on every refit so the chosen point's cost is in plain view."""
    return [ThresholdRow(t, right_at(results, t),
                         sum(1 for conf, _, abstain_ok in results if abstain_ok and conf < t),
                         sum(1 for conf, ok, abstain_ok in results if ok and not abstain_ok and conf < t))
            for t in grid]


def fit(train: list[Example], dev: list[Example]) -> Scorer:
    return fit_with_outcomes(train, dev)[0]


def fit_with_outcomes(train: list[Example], dev: list[Example]) -> tuple[Scorer, list[tuple[float, bool, bool]]]:
    """The fitted scorer, and the pooled outcomes its threshold was chosen on."""
    stage1 = fit_candidates(train)
    part, _ = best_of(GRID, lambda t: accuracy_at(outcomes(dev, replace(stage1, part_threshold=t), True), 0.0))
    stage1 = replace(stage1, part_threshold=part)
    cx, cy, held_out = out_of_fold_confidence_data(train, part)
    cweights, cbias = fit_logistic(cx, cy, None, CONFIDENCE_FEATURES)
    scorer = replace(stage1, confidence_weights=cweights, confidence_bias=cbias)
    # dev alone gave a flat curve whose chosen point wandered 0.14-0.22 between refits; with train's
    # out-of-fold answers, scored by the same confidence model, the threshold sees 519 questions, not 142
    pooled = [(h.confidence(scorer), h.right, h.abstain_right) for h in held_out] + outcomes(dev, scorer)
    threshold, _ = best_of(GRID, lambda t: accuracy_at(pooled, t), cautious=True)
    scorer = replace(scorer, threshold=threshold)
    # abstain on questions whose unknown-word share reaches the limit with the best dev accuracy (ties: middle)
    limit, _ = best_of(UNKNOWN_GRID, lambda u: accuracy(dev, replace(scorer, unknown_limit=u)))
    return replace(scorer, unknown_limit=limit), pooled


UNKNOWN_GRID = [round(float(u), 2) for u in np.linspace(0.3, 1.0, 15)]


def accuracy(examples: list[Example], scorer: Scorer) -> float:
    """Share of questions the engine gets right with this scorer, abstentions included (as answering does)."""
    return sum(ex.correct(*_decided(ex, scorer)) for ex in examples) / len(examples) if examples else 0.0


def _decided(ex: Example, scorer: Scorer) -> tuple[str, bool]:
    comp = decide(ex.prep, scorer)
    return comp.text, comp.abstained


def fit_candidates(examples: list[Example]) -> Scorer:
    groups = labelled(examples)
    w = fit_listwise(groups)
    slope, bias = calibrate(groups, w)
    weights = {name: round(float(v * slope), 4) for name, v in zip(FEATURES, w)}
    return Scorer(weights, bias, {}, 0.0, 0.0, 0.5)


@dataclass
class HeldOut:
    """A question answered by a candidate model that never saw it."""
    features: dict[str, float] | None  # the confidence stage's input; None when nothing was ranked
    right: bool  # the answer is right (answering)
    abstain_right: bool  # abstaining is right
    blocked: bool  # abstains whatever the confidence (names an organization or a program the reports never mention)

    def confidence(self, scorer: Scorer) -> float:
        return 0 if self.blocked or self.features is None else scorer.confidence(self.features)


def out_of_fold_confidence_data(examples: list[Example], part_threshold: float) -> tuple[np.ndarray, np.ndarray, list[HeldOut]]:
    """Confidence examples where each question is scored by a candidate model that never saw it, and every
    question's held-out outcome (for the threshold)."""
    held_out: list[HeldOut] = []
    for k in range(FOLDS):
        held = [ex for i, ex in enumerate(examples) if i % FOLDS == k]
        rest = [ex for i, ex in enumerate(examples) if i % FOLDS != k]
        held_out += confidence_data(held, replace(fit_candidates(rest), part_threshold=part_threshold))
    # Only a right answer and an unanswerable question weigh on abstaining: answering a wrong figure and
    # abstaining on its question are both wrong, so those questions only blur P(right) against P(unanswerable).
    ranked = [h for h in held_out if h.features is not None and (h.right or h.abstain_right)]
    x = np.array([[h.features[n] for n in CONFIDENCE_FEATURES] for h in ranked], dtype=float)
    return x, np.array([int(h.right) for h in ranked]), held_out


def confidence_data(examples: list[Example], scorer: Scorer) -> list[HeldOut]:
    out: list[HeldOut] = []
    for ex, (_, ok, abstain_ok) in zip(examples, outcomes(examples, scorer, True)):
        ranked = rank(ex.prep.candidates, scorer)
        feats = confidence_features([c.probability for c in ranked], ranked[0].features) if ranked else None
        out.append(HeldOut(feats, ok and ex.answerable, abstain_ok, ex.prep.names_the_unknown))
    return out


def cross_validated(train: list[Example], dev: list[Example], folds: int, seed: str = "",
                    outcomes_seen: dict[str, bool] | None = None) -> list[int]:
    """Questions right per fold of train + dev, each fold answered by a scorer fitted without it (weights on the
    rest's train part, thresholds on its dev part). One refit moves a few questions either way; summed over
    folds, a change to candidates or features is judged on every train and dev question, none of them seen."""
    def fold(ex: Example) -> int:
        return int(hashlib.sha1(f"{seed}{ex.item.id}".encode()).hexdigest(), 16) % folds

    right = []
    for k in range(folds):
        scorer = fit([ex for ex in train if fold(ex) != k], [ex for ex in dev if fold(ex) != k])
        held = {ex.item.id: ex.correct(*_decided(ex, scorer)) for ex in train + dev if fold(ex) == k}
        right.append(sum(held.values()))
        if outcomes_seen is not None:
            outcomes_seen.update(held)
    return right


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.fit_scorer", description=__doc__.split("\n\n")[0])
    ap.add_argument("--suites", nargs="+", default=[s.name for s in SUITES if s.fit])
    ap.add_argument("--cache", type=Path, default=Path("var/fit/hits.pkl"), help="retrieval cache (pickle)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    ap.add_argument("--cv", type=int, metavar="K", help="only print K-fold cross-validated accuracy over train + dev")
    ap.add_argument("--cv-seeds", nargs="+", default=["a", "b"], help="fold assignments to sum over (with --cv)")
    ap.add_argument("--cv-detail", type=Path, help="with --cv: write each question's out-of-fold outcome (JSON), "
                    "to see which questions a change moves")
    args = ap.parse_args(argv)
    suites = [s for s in SUITES if s.name in args.suites]
    train = collect(suites, {"train"}, args.cache)
    dev = collect(suites, {"dev"}, args.cache)
    if args.cv:
        detail: dict[str, dict[str, bool]] = {}
        for seed in args.cv_seeds:
            right = cross_validated(train, dev, args.cv, seed, detail.setdefault(seed, {}))
            print(f"cv seed {seed}: {sum(right)}/{len(train) + len(dev)} right (folds {right})")
        if args.cv_detail:
            args.cv_detail.write_text(json.dumps(detail, ensure_ascii=False, indent=0), encoding="utf-8")
        return 0
    scorer, pooled = fit_with_outcomes(train, dev)
    train_acc = accuracy(train, scorer)
    dev_acc = accuracy(dev, scorer)
    info = {"train_questions": len(train), "dev_questions": len(dev), "train_accuracy": round(train_acc, 4),
            "dev_accuracy": round(dev_acc, 4), "suites": [s.name for s in suites]}
    replace(scorer, info=info).save(args.out)
    print(f"train {train_acc:.3f} ({len(train)}), dev {dev_acc:.3f} ({len(dev)}), "
          f"threshold {scorer.threshold}, part threshold {scorer.part_threshold}, unknown limit {scorer.unknown_limit}")
    for table in (scorer.weights, scorer.confidence_weights):
        for name in sorted(table, key=lambda n: -abs(table[n])):
            print(f"  {name:<16} {table[name]:+.3f}")
    print_threshold_table(pooled, scorer.threshold)
    return 0


def print_threshold_table(pooled: list[tuple[float, bool, bool]], chosen: float) -> None:
    unanswerable = sum(1 for _, _, abstain_ok in pooled if abstain_ok)
    print(f"기권 임계값별 결과 (abstention threshold trade-off; {len(pooled)} questions, {unanswerable} unanswerable)")
    print("  threshold  right  unanswerable abstained  false abstentions")
    for row in threshold_table(pooled, sorted({*SWEEP, chosen})):
        mark = "  <- chosen" if row.threshold == chosen else ""
        print(f"  {row.threshold:9.2f}  {row.right:5d}  {row.unanswerable_abstained:10d}/{unanswerable:<11d}  "
              f"{row.false_abstentions:17d}{mark}")


if __name__ == "__main__":
    sys.exit(main())
