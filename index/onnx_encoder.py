"""Query embeddings through ONNX Runtime, so answering a question never imports torch.

The ONNX graph is exported once (with torch, at index time) from the same sentence-transformers
directory the passages were embedded with; queries then need only onnxruntime + tokenizers, which
import in a fraction of a second where sentence-transformers + torch take several seconds and ~1 GB.
`optimum[onnxruntime]` is not used: it pins an older transformers that breaks sentence-transformers.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from index.runtime import DEFAULT_THREADS, release_free_memory

GRAPH = "model.onnx"
WORDS = "word_embeddings.npy"
SPEC = "docqa_onnx.json"
QUERY_TOKENIZER = "query_tokenizer.json"
QUERY_IDS = "query_ids.npy"
EXPORT_FORMAT = 2


@dataclass(frozen=True)
class OnnxSpec:
    """What the sentence-transformers pipeline around the transformer does, read once at export."""

    query_prompt: str
    max_length: int
    pad_id: int
    dim: int
    pooling: str
    normalize: bool
    format: int = EXPORT_FORMAT


def export_dir(cache: Path, model_key: str) -> Path:
    """One folder per model fingerprint, so a changed model never reuses a stale graph."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_key)
    return Path(cache) / "onnx" / safe


def is_exported(target: Path) -> bool:
    try:
        spec = json.loads((target / SPEC).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return spec.get("format") == EXPORT_FORMAT and all((target / f).is_file() for f in (GRAPH, WORDS, QUERY_TOKENIZER, QUERY_IDS))


# ASCII and Latin-1, Greek, Hangul jamo and syllables, punctuation, letterlike symbols, arrows, math, circled
# numbers, boxes and shapes, dingbats, CJK punctuation and compatibility units, full-width forms.
_COVERED = ((0x00, 0xFF), (0x370, 0x3FF), (0x1100, 0x11FF), (0x2000, 0x206F), (0x2100, 0x22FF), (0x2460, 0x27BF),
            (0x3000, 0x303F), (0x3130, 0x318F), (0x3200, 0x33FF), (0xAC00, 0xD7A3), (0xFF00, 0xFFEF))


def covered(ch: str) -> bool:
    """Characters of Korean reports and questions: Hangul, ASCII, and the punctuation, symbols and circled
    numbers they print. A query made only of these is tokenized by the small vocabulary."""
    o = ord(ch)
    return any(lo <= o <= hi for lo, hi in _COVERED) or ch in "▁・"


def query_vocabulary(tokenizer_json: dict) -> tuple[dict, np.ndarray]:
    """A Unigram tokenizer keeping only the pieces made of `covered` characters, and the original id of each.

    XLM-R's 250k pieces hold ~290 MB in `tokenizers`; the ~110k covered ones ~70 MB. Tokenization is the
    same for covered text: Viterbi only weighs pieces that occur in the text, and every such piece is kept
    (so is the lowest-scored piece, which sets the unknown-character penalty)."""
    model = tokenizer_json["model"]
    if model.get("type") != "Unigram":
        raise ValueError(f"query vocabulary: only Unigram tokenizers are reduced (got {model.get('type')})")
    vocab = model["vocab"]
    special = {t["id"] for t in tokenizer_json.get("added_tokens", [])} | {model.get("unk_id") or 0}
    lowest = min(range(len(vocab)), key=lambda i: vocab[i][1])
    keep = [i for i, (piece, _) in enumerate(vocab) if i in special or i == lowest or all(map(covered, piece))]
    new_id = {old: new for new, old in enumerate(keep)}
    reduced = json.loads(json.dumps(tokenizer_json))
    reduced["model"]["vocab"] = [vocab[i] for i in keep]
    if model.get("unk_id") is not None:
        reduced["model"]["unk_id"] = new_id[model["unk_id"]]
    for token in reduced.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    for token in (reduced.get("post_processor") or {}).get("special_tokens", {}).values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    return reduced, np.array(keep, dtype=np.int64)


def export(model_dir: Path, target: Path, threads: int = DEFAULT_THREADS) -> Path:
    """Write the transformer as ONNX plus the pooling/prompt spec; written beside, then renamed in."""
    import torch  # index-time only

    from index.embedder import Embedder

    embedder = Embedder.from_dir(model_dir, threads=threads)
    model = embedder.model
    transformer = model[0]
    pooling = model[1]
    if getattr(pooling, "pooling_mode", None) != "mean" or not getattr(pooling, "include_prompt", True):
        raise ValueError(f"{model_dir}: only mean pooling is exported (got {pooling})")
    auto = transformer.auto_model.eval()
    tok = transformer.tokenizer
    prompts = dict(model.prompts or {})
    spec = OnnxSpec(
        query_prompt=prompts.get(embedder.query_prompt_name or "", ""),
        max_length=int(model.max_seq_length or tok.model_max_length),
        pad_id=int(tok.pad_token_id if tok.pad_token_id is not None else 0),
        dim=embedder.dim,
        pooling="mean",
        normalize=any(type(m).__name__ == "Normalize" for m in model),
    )

    class Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    # The 250k-word embedding table is most of the weights: kept out of the graph as a memory-mapped
    # array, a query reads only its own tokens' rows instead of holding ~380 MB resident.
    words = auto.get_input_embeddings().weight.detach()
    sample = tok(["query: 예산 현황"], return_tensors="pt")
    tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    np.save(tmp / WORDS, words.numpy().astype(np.float32))
    full = json.loads((Path(model_dir) / "tokenizer.json").read_text(encoding="utf-8"))
    reduced, original_ids = query_vocabulary(full)
    (tmp / QUERY_TOKENIZER).write_text(json.dumps(reduced, ensure_ascii=False), encoding="utf-8")
    np.save(tmp / QUERY_IDS, original_ids)
    with torch.no_grad():
        torch.onnx.export(
            Hidden(auto), (words[sample["input_ids"]], sample["attention_mask"]), str(tmp / GRAPH),
            input_names=["inputs_embeds", "attention_mask"], output_names=["last_hidden_state"],
            dynamic_axes={"inputs_embeds": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "last_hidden_state": {0: "batch", 1: "seq"}},
            opset_version=17, dynamo=False,
        )
    (tmp / SPEC).write_text(json.dumps(spec.__dict__, ensure_ascii=False), encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


class OnnxQueryEncoder:
    """L2-normalized float32 query vectors, equal (cos >= 0.999) to the sentence-transformers encoder's."""

    def __init__(self, model_dir: Path, graph_dir: Path, threads: int = DEFAULT_THREADS) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        spec = OnnxSpec(**json.loads((graph_dir / SPEC).read_text(encoding="utf-8")))
        self.spec = spec
        self.dim = spec.dim
        self._model_dir = Path(model_dir)
        self._tokenizer = self._ready(Tokenizer.from_file(str(graph_dir / QUERY_TOKENIZER)))
        self._original_ids = np.load(graph_dir / QUERY_IDS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # one short question at a time: the arena's preallocation held ~50 MB for no measurable speed
        options.enable_cpu_mem_arena = False
        self._words = np.load(graph_dir / WORDS, mmap_mode="r")
        self._session = ort.InferenceSession(str(graph_dir / GRAPH), options, providers=["CPUExecutionProvider"])
        release_free_memory()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids, mask = self._encode([self.spec.query_prompt + t for t in texts])
        embeds = np.ascontiguousarray(self._words[ids], dtype=np.float32)
        (hidden,) = self._session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if self.spec.normalize:
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(pooled, dtype=np.float32)

    def _ready(self, tokenizer):
        tokenizer.enable_truncation(self.spec.max_length)
        tokenizer.enable_padding(pad_id=self.spec.pad_id)
        return tokenizer

    @cached_property
    def _full_tokenizer(self):
        from tokenizers import Tokenizer

        return self._ready(Tokenizer.from_file(str(self._model_dir / "tokenizer.json")))

    def _encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of the full vocabulary: through the small one when it covers every character."""
        normalizer = self._tokenizer.normalizer
        if all(covered(ch) for t in texts for ch in normalizer.normalize_str(t)):
            encodings = self._tokenizer.encode_batch(texts)
            ids = self._original_ids[np.array([e.ids for e in encodings], dtype=np.int64)]
        else:
            encodings = self._full_tokenizer.encode_batch(texts)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
        return ids, np.array([e.attention_mask for e in encodings], dtype=np.int64)


def load_query_encoder(model_dir: Path, graph_dir: Path, threads: int = DEFAULT_THREADS) -> OnnxQueryEncoder | None:
    """The ONNX encoder, or None when onnxruntime or the export is missing (the caller falls back to torch)."""
    if not is_exported(graph_dir):
        return None
    try:
        return OnnxQueryEncoder(model_dir, graph_dir, threads)
    except ImportError:
        return None
