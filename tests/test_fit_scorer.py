"""Fitting the answer scorer: the logistic fit folds standardization back into raw-feature weights, and
thresholds are chosen from the middle of the best ties."""
from __future__ import annotations

import numpy as np
import pytest

from app.answer.scorer import Scorer
from eval.fit_scorer import (
    CachedRetrieval,
    HeldOut,
    best_of,
    fit_logistic,
    threshold_table,
)


def test_fit_recovers_a_predictive_feature_on_the_raw_scale():
    rng = np.random.default_rng(0)
    useful = rng.uniform(0, 10, 400)  # a raw scale far from standardized
    noise = rng.uniform(0, 1, 400)
    y = (useful > 5).astype(int)
    weights, bias = fit_logistic(np.column_stack([useful, noise]), y, None, ("useful", "noise"))
    assert weights["useful"] > 0 and abs(weights["noise"]) < weights["useful"]
    scorer = Scorer(weights, bias, {}, 0.0, 0.5, 0.5)
    assert scorer.probability({"useful": 9.0, "noise": 0.5}) > 0.9
    assert scorer.probability({"useful": 1.0, "noise": 0.5}) < 0.1


def test_a_grid_value_is_the_middle_of_the_best_ties_and_a_cautious_one_the_highest():
    grid = [0.1, 0.2, 0.3, 0.4, 0.5]
    scores = {0.1: 0.5, 0.2: 0.7, 0.3: 0.7, 0.4: 0.7, 0.5: 0.6}
    assert best_of(grid, scores.get) == (0.3, 0.7)
    # the abstention threshold: equally often right, the higher one answers fewer questions wrongly
    assert best_of(grid, scores.get, cautious=True) == (0.4, 0.7)


def test_threshold_table_counts_what_each_threshold_stops():
    # (confidence, right if answered, right if abstained): two right answers, one wrong, two unanswerable
    pooled = [(0.9, True, False), (0.5, True, False), (0.4, False, False), (0.6, False, True), (0.2, False, True)]
    low, mid, high = threshold_table(pooled, [0.1, 0.45, 0.7])
    assert (low.right, low.unanswerable_abstained, low.false_abstentions) == (2, 0, 0)
    assert (mid.right, mid.unanswerable_abstained, mid.false_abstentions) == (3, 1, 0)
    # at 0.7 the second right answer is stopped with the last unanswerable question
    assert (high.right, high.unanswerable_abstained, high.false_abstentions) == (3, 2, 1)


def test_listwise_fit_ranks_the_right_candidate_first():
    """Each question has one right candidate among several; only `useful` tells it apart, and only
    relative to the other candidates of its question (the level of `useful` shifts from question to question)."""
    from eval.fit_scorer import calibrate, fit_listwise

    rng = np.random.default_rng(1)
    groups = []
    for _ in range(120):
        n = int(rng.integers(3, 9))
        shift = rng.uniform(0, 20)
        useful = shift + rng.uniform(0, 1, n)
        right = int(rng.integers(n))
        useful[right] += 1.5
        x = np.column_stack([useful, rng.uniform(0, 1, n)])
        groups.append((x, np.arange(n) == right))
    w = fit_listwise(groups, l2=1.0)
    assert w[0] > 0 and abs(w[1]) < w[0]
    top_right = sum(bool(y[np.argmax(x @ w)]) for x, y in groups)
    assert top_right >= 0.9 * len(groups)
    slope, _ = calibrate(groups, w)
    assert slope > 0


def test_cross_validation_never_answers_a_question_it_was_fitted_on(monkeypatch):
    import eval.fit_scorer as fs

    class Item:
        def __init__(self, n):
            self.id = f"q{n}"

    class Ex:
        def __init__(self, n):
            self.item = Item(n)

        def correct(self, text, abstained):
            return text == "right"

    train, dev = [Ex(n) for n in range(40)], [Ex(n) for n in range(40, 60)]
    fitted_on = []
    monkeypatch.setattr(fs, "fit", lambda tr, dv: fitted_on.append({id(e) for e in tr + dv}) or len(fitted_on) - 1)
    answered = []

    def decided(ex, scorer):
        answered.append((id(ex), scorer))
        return "right", False
    monkeypatch.setattr(fs, "_decided", decided)
    right = fs.cross_validated(train, dev, 5)
    assert sum(right) == 60 and len(right) == 5 and len(answered) == 60  # each question answered once
    assert all(ex not in fitted_on[scorer] for ex, scorer in answered)


def test_listwise_loss_stays_finite_when_the_right_candidate_scores_far_below():
    """During cross-validation the line search tried weights where a right candidate scored ~1,000 below
    the best: its softmax mass underflowed to 0, and the loss became inf and the gradient nan."""
    from eval.fit_scorer import listwise_loss

    x = np.array([[0.0], [1.0], [0.5]])
    y = np.array([True, False, False])
    value, grad = listwise_loss(np.array([1000.0]), [(x, y)], 0.0)
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert value == pytest.approx(1000.0)
    assert grad[0] == pytest.approx(1.0)  # d/dw of (best score - right score) = 1 - 0


def test_confidence_stage_weighs_right_answers_against_unanswerable_questions_only(monkeypatch):
    """Answering a wrong figure and abstaining on its question score the same, so such questions say nothing
    about when to abstain: the confidence fit sees right answers and unanswerable questions, while the
    threshold still sees every held-out question."""
    import eval.fit_scorer as fs

    outcomes = {"right": (True, False), "wrong": (False, False), "unanswerable": (False, True)}
    examples = ["right", "wrong", "unanswerable", "wrong", "right"] * 4
    monkeypatch.setattr(fs, "fit_candidates", lambda rest: Scorer({}, 0.0, {}, 0.0, 0.0, 0.5))
    monkeypatch.setattr(fs, "confidence_data", lambda held, scorer: [
        HeldOut({n: float(kind == "right") for n in fs.CONFIDENCE_FEATURES}, *outcomes[kind], False)
        for kind in held])
    x, y, held_out = fs.out_of_fold_confidence_data(examples, 0.5)
    assert len(held_out) == len(examples)
    assert len(x) == examples.count("right") + examples.count("unanswerable")
    assert y.sum() == examples.count("right")


def test_a_blocked_or_unranked_question_has_no_confidence():
    scorer = Scorer({}, 0.0, {"margin": 1.0}, 5.0, 0.5, 0.5)
    features = {"margin": 1.0}
    assert HeldOut(features, True, False, False).confidence(scorer) > 0.99
    assert HeldOut(features, True, False, True).confidence(scorer) == 0
    assert HeldOut(None, True, False, False).confidence(scorer) == 0


def test_cached_hits_are_not_reused_for_re_embedded_chunks():
    """The same chunks embedded again (another precision, another model build) retrieve differently: the
    retrieval cache must not hand back the old vectors' hits."""
    from types import SimpleNamespace

    from ingest.models import TextChunk

    chunks = [TextChunk(id=f"c{i}", text=f"본문 {i}", file="a.txt", title="a", organization="", date="",
                        page=1, section="") for i in range(3)]

    def retrieval(vectors):
        index = SimpleNamespace(chunks=chunks, vectors=vectors, model_id="m")
        return SimpleNamespace(index=index, hits=lambda q, files, k: [vectors[0, 0]])

    before = np.eye(3, dtype=np.float32)
    memo: dict = {}
    first = CachedRetrieval(retrieval(before), memo)
    assert first.hits("질문", [], 1) == [1.0]
    again = CachedRetrieval(retrieval(before.copy()), memo)
    assert again.version == first.version
    re_embedded = CachedRetrieval(retrieval(before * 0.5), memo)
    assert re_embedded.version != first.version
    assert re_embedded.hits("질문", [], 1) == [0.5]
