# Evaluation: build (or update) an index per corpus, then `docqa eval` writes results.jsonl and a report.
# Indexes live under var/ (git-ignored) and are updated incrementally, so a re-run only re-reads changed files.
VENV ?= .venv
DOCQA ?= $(VENV)/bin/docqa
PYTHON ?= $(VENV)/bin/python
REALDATA ?= ../shared/realdata
# Which split of the gold items to evaluate: train | dev | test | all (eval/splits.py).
SPLIT ?= all

.PHONY: eval eval-busan eval-dacon eval-all fit fit-cv dacon-gold table-bench

# The customer's five reports (corpus/) against eval/gold.jsonl.
eval:
	$(DOCQA) index --corpus corpus --index-dir var/index --quiet
	$(DOCQA) eval --gold eval/gold.jsonl --split $(SPLIT) --index-dir var/index --out var/eval/results.jsonl --report var/eval/report

# 24 Busan 2025 work plans against the hand-written eval/data/busan_gold.jsonl.
eval-busan:
	$(DOCQA) index --corpus $(REALDATA)/busan_plans --index-dir var/index-busan --quiet
	$(DOCQA) eval --gold eval/data/busan_gold.jsonl --split $(SPLIT) --index-dir var/index-busan \
		--out var/eval-busan/results.jsonl --report var/eval-busan/report

# Dacon fiscal PDFs against eval/data/dacon_gold.jsonl (derived from the competition CSV; no pages).
eval-dacon:
	$(DOCQA) index --corpus $(REALDATA)/dacon_fiscal/train_source --index-dir var/index-dacon --quiet
	$(DOCQA) eval --gold eval/data/dacon_gold.jsonl --split $(SPLIT) --index-dir var/index-dacon \
		--out var/eval-dacon/results.jsonl --report var/eval-dacon/report

# Regenerate eval/data/dacon_gold.jsonl from the CSV.
dacon-gold:
	$(PYTHON) -m eval.dacon

# Every question set beside the top-passage baseline, plus the staff questions (SPLIT=test for the notes).
eval-all:
	bash scripts/eval_all.sh $(SPLIT)

# Refit the answer scorer on the train split (thresholds on dev) -> app/answer/weights.json.
fit:
	$(PYTHON) -m eval.fit_scorer

# Judge a change to candidates or features: 5-fold cross-validated accuracy over train+dev, nothing written.
fit-cv:
	$(PYTHON) -m eval.fit_scorer --cv 5

# Table benchmark: cell precision/recall/F1 per source over the hand-checked tables (eval/tables/bench.jsonl).
table-bench:
	$(PYTHON) -m eval.table_bench --realdata $(REALDATA) --tables
