"""CPU text embedder over any sentence-transformers model directory.

The default model is the one built by :mod:`index.model_build`, but a site can
point ``Embedder.from_dir`` at a stronger local model (KURE-v1, bge-m3, ...):
anything ``SentenceTransformer(path)`` can load works. Models that define
"query"/"passage" prompts (like e5) get them; others are fed raw text.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.runtime import (
    DEFAULT_THREADS,
    apply_torch_threads,
    configure_threads,
    resolve_precision,
)

if TYPE_CHECKING:  # torch must not be imported before configure_threads has run
    from sentence_transformers import SentenceTransformer

# Only local directories are ever loaded: fail fast instead of reaching for a hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

QUERY_PROMPT_NAMES = ("query",)
PASSAGE_PROMPT_NAMES = ("passage", "document")
DEFAULT_BATCH_SIZE = 16
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")


def model_id_for(path: Path) -> str:
    """Stable id: directory name + hash of its configs and weight-file sizes.

    Hashing configs (not gigabytes of weights) keeps this instant, while still
    changing when the architecture, tokenizer, prompts or weights file change,
    so an index built with one model is never silently queried with another.
    """
    path = Path(path).resolve()
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path).as_posix()
        if rel.startswith(".") or rel == "README.md":
            continue
        if file.suffix == ".json":
            h.update(rel.encode() + b"\0" + file.read_bytes() + b"\0")
        elif file.suffix in _WEIGHT_SUFFIXES:
            h.update(f"{rel}\0{file.stat().st_size}\0".encode())
    return f"{path.name}-{h.hexdigest()[:12]}"


def _pick_prompt(prompts: dict[str, str], names: Sequence[str]) -> str | None:
    """First prompt name among ``names`` with a non-empty prompt, else None."""
    for name in names:
        if prompts.get(name):
            return name
    return None


class Embedder:
    """L2-normalized float32 embeddings for queries and passages, on CPU."""

    def __init__(
        self,
        model: SentenceTransformer,
        model_id: str,
        *,
        threads: int = DEFAULT_THREADS,
        batch_size: int = DEFAULT_BATCH_SIZE,
        precision: str = "float32",
    ) -> None:
        self._model = model
        self.model_id = model_id
        self.threads = threads
        self.batch_size = batch_size
        self.precision = precision
        prompts = dict(model.prompts or {})
        self.query_prompt_name = _pick_prompt(prompts, QUERY_PROMPT_NAMES)
        self.passage_prompt_name = _pick_prompt(prompts, PASSAGE_PROMPT_NAMES)
        dim = model.get_embedding_dimension()
        if not dim:
            raise ValueError(f"{model_id}: model does not report an embedding dimension")
        self.dim = int(dim)

    @classmethod
    def from_dir(
        cls, path: Path | str, threads: int = DEFAULT_THREADS, *, batch_size: int = DEFAULT_BATCH_SIZE,
        precision: str = "float32",
    ) -> Embedder:
        """Load a sentence-transformers directory on CPU with ``threads`` threads.

        ``precision``: "float32", "bfloat16" or "auto" (bfloat16 where the CPU multiplies it in hardware).
        bfloat16 weights give vectors within cosine 0.9999 of float32 once normalized in float32, ~3x faster
        with AMX (docs/scale.md)."""
        precision = resolve_precision(precision)
        path = Path(path).expanduser().resolve()
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise FileNotFoundError(f"not a sentence-transformers model directory: {path}")
        configure_threads(threads)  # effective only if torch is not imported yet
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Loading a local model takes a second: its "Loading weights" bar is noise on every `docqa ask`.
        transformers_logging.disable_progress_bar()
        apply_torch_threads(threads)
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        model.eval()
        if precision == "bfloat16":
            import torch

            model.to(torch.bfloat16)
        return cls(model, model_id_for(path), threads=threads, batch_size=batch_size, precision=precision)

    @property
    def model(self) -> SentenceTransformer:
        return self._model

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (with the model's "query" prompt if it has one)."""
        if not texts:
            return self._empty()
        out = self._model.encode_query(
            list(texts),
            prompt_name=self.query_prompt_name,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return self._finish(out)

    def embed_passages(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed passages (with the model's "passage"/"document" prompt if it has one)."""
        if not texts:
            return self._empty()
        out = self._model.encode_document(
            list(texts),
            prompt_name=self.passage_prompt_name,
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return self._finish(out)

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.dim), dtype=np.float32)

    def _finish(self, out: object) -> np.ndarray:
        arr = np.ascontiguousarray(np.asarray(out, dtype=np.float32))
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(f"unexpected embedding shape {arr.shape}, expected (n, {self.dim})")
        if self.precision != "float32":
            # normalized in bfloat16 a vector's length is off by up to 0.3%; normalized again here, it lies
            # within cosine 0.9999 of the float32 vector
            arr /= np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
        return arr
