"""The one scorer, in two fitted stages (python -m eval.fit_scorer), both logistic over named features:

1. each candidate: how likely it alone answers the question (weights over features.FEATURES);
2. the question: how likely the best candidate is right rather than the question unanswerable (weights
   over CONFIDENCE_FEATURES), the calibrated probability that abstention compares with a threshold chosen
   on train's out-of-fold answers and the dev split.

Weights, biases and thresholds live in weights.json beside this file (reviewed like code, rebuilt by one
command); nothing else in the answerer holds a score.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .features import FEATURES

WEIGHTS_PATH = Path(__file__).with_name("weights.json")
# Words no report holds do not enter the confidence: fitted, they raised it (spelling variants of answerable
# questions); a question naming what the reports never mention is stopped by `unknown_limit` instead.
CONFIDENCE_FEATURES = ("top_logit", "margin", "top_all_cov", "top_own_cov", "year_missing",
                       "type_clash", "no_terms", "missing_rare")
EPS = 1e-6


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(-50, min(50, z))))


def logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def confidence_features(probabilities: list[float], top: dict[str, float]) -> dict[str, float]:
    """What the question-level stage sees: the best candidate's score, its lead, and what it leaves out."""
    p1 = probabilities[0] if probabilities else 0
    p2 = probabilities[1] if len(probabilities) > 1 else 0
    return {
        "top_logit": logit(p1),
        "margin": p1 - p2,
        "top_all_cov": top.get("all_cov", 0),
        "top_own_cov": top.get("own_cov", 0),
        "year_missing": top.get("year_missing", 0),
        "type_clash": top.get("type_clash", 0),
        "no_terms": top.get("no_terms", 0),
        "missing_rare": top.get("missing_rare", 0),
    }


@dataclass(frozen=True)
class Scorer:
    weights: dict[str, float]
    bias: float
    confidence_weights: dict[str, float]
    confidence_bias: float
    threshold: float  # answer only when the calibrated confidence reaches this (chosen on train out-of-fold + dev)
    part_threshold: float  # a candidate joins a multi-part answer from this probability on (chosen on dev)
    # abstain when this rarity-weighted share of the question's words is in no report (chosen on dev):
    # "화성 탐사선 발사 예산" names things the reports never mention
    unknown_limit: float = 1.0
    info: dict = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> Scorer:
        data = json.loads(path.read_text(encoding="utf-8"))
        unknown = (set(data["weights"]) - set(FEATURES)) | (set(data["confidence_weights"]) - set(CONFIDENCE_FEATURES))
        if unknown:
            raise ValueError(f"weights.json names unknown features {sorted(unknown)}; refit: python -m eval.fit_scorer")
        return cls(data["weights"], data["bias"], data["confidence_weights"], data["confidence_bias"],
                   data["threshold"], data["part_threshold"], data.get("unknown_limit", 1.0), data.get("info", {}))

    def probability(self, features: dict[str, float]) -> float:
        return sigmoid(self.bias + sum(self.weights.get(n, 0) * v for n, v in features.items()))

    def confidence(self, features: dict[str, float]) -> float:
        return sigmoid(self.confidence_bias + sum(self.confidence_weights.get(n, 0) * v for n, v in features.items()))

    def save(self, path: Path = WEIGHTS_PATH) -> None:
        data = {
            "bias": self.bias,
            "weights": {n: self.weights.get(n, 0) for n in FEATURES},
            "confidence_bias": self.confidence_bias,
            "confidence_weights": {n: self.confidence_weights.get(n, 0) for n in CONFIDENCE_FEATURES},
            "threshold": self.threshold,
            "part_threshold": self.part_threshold,
            "unknown_limit": self.unknown_limit,
            "info": self.info,
        }
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
