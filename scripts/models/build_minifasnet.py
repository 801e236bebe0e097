#!/usr/bin/env python3
"""Build ONNX files for the two MiniFASNet anti-spoofing models from their safetensors weights.

Source weights: minivision-ai/Silent-Face-Anti-Spoofing (Apache-2.0), stored beside the outputs as
`minifasnet_v2_scale2.7.safetensors` and `minifasnet_v1se_scale4.0.safetensors` with the original PyTorch tensor
names. The graph is written by hand with onnx.helper and follows the project's TensorFlow.js port
(scripts/models/minifasnet-tfjs/model.ts), which is the executable spec of the architecture:

  conv1       3x3/2 conv + BN + PReLU                                         80 -> 40
  conv2_dw    3x3/1 depthwise conv + BN + PReLU
  conv_23     bottleneck /2 (1x1 expand + BN + PReLU, 3x3 depthwise + BN + PReLU, 1x1 project + BN)   40 -> 20
  conv_3      residual bottlenecks                                                      (4 blocks)
  conv_34     bottleneck /2                                                            20 -> 10
  conv_4      residual bottlenecks                                                      (6 blocks)
  conv_45     bottleneck /2                                                            10 -> 5
  conv_5      residual bottlenecks                                                      (2 blocks)
  conv_6_sep  1x1 conv + BN + PReLU
  conv_6_dw   5x5 depthwise conv, no padding + BN                                        5 -> 1
  linear + BatchNorm1d, prob (3 classes, class 1 = "real"), softmax

V1SE: a bottleneck that has `se_module.*` tensors multiplies its projection by a squeeze-excitation gate
(global average pool, 1x1 conv + BN + ReLU, 1x1 conv + BN + sigmoid) before the residual add.

Every batch-norm (eps 1e-5) is folded into the preceding bias-free conv / linear layer (computed in float64, stored
as float32). 3x3 convolutions pad one pixel on every side, also with stride 2 (PyTorch symmetric padding).

Graph interface:
  input  `input`  float32 [N, 80, 80, 3]  NHWC, BGR channel order, values 0-255 (not normalised), N dynamic
  output `probs`  float32 [N, 3]          softmax; index 1 = "real"

The output files are deterministic: the same weights give the same bytes on every run.
Needs only numpy and onnx (onnxruntime, if installed, is used for a smoke test).

Usage: python scripts/models/build_minifasnet.py [--model-dir DIR] [--check-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL_DIR = REPO_ROOT / "packages" / "face-engine" / "models" / "minifasnet"

OPSET = 17
IR_VERSION = 8  # opset 17 needs IR >= 8; keep it low so older runtimes load the file
BN_EPS = 1e-5
INPUT_SIZE = 80

MODELS = [
    # (variant, source safetensors, output onnx, crop scale)
    ("v2", "minifasnet_v2_scale2.7.safetensors", "minifasnet_v2.onnx", 2.7),
    ("v1se", "minifasnet_v1se_scale4.0.safetensors", "minifasnet_v1se.onnx", 4.0),
]

_DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Parses a safetensors file: u64-LE header length, JSON header, raw little-endian data."""
    raw = path.read_bytes()
    if len(raw) < 8:
        raise ValueError(f"{path}: file too short")
    (header_len,) = struct.unpack("<Q", raw[:8])
    if header_len > len(raw) - 8:
        raise ValueError(f"{path}: invalid header length {header_len}")
    header = json.loads(raw[8 : 8 + header_len].decode("utf-8"))
    data = memoryview(raw)[8 + header_len :]
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: {name}: unsupported dtype {entry['dtype']}")
        begin, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        dt = np.dtype(dtype).newbyteorder("<")
        if end - begin != count * dt.itemsize or end > len(data):
            raise ValueError(f"{path}: {name}: data offsets do not match shape {list(shape)}")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(shape).copy()
    return tensors


class GraphBuilder:
    """Collects nodes and initializers; names are derived from the PyTorch module names (deterministic)."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = weights
        self.used: set[str] = set()
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def get(self, name: str) -> np.ndarray:
        if name not in self.w:
            raise KeyError(f"MiniFASNet weights: missing tensor {name}")
        self.used.add(name)
        return self.w[name]

    def has(self, name: str) -> bool:
        return name in self.w

    def init(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value.astype(np.float32)), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def bn_fold(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """Returns (mul, add) in float64 so that BN(x) = x * mul + add."""
        gamma = self.get(f"{prefix}.weight").astype(np.float64)
        beta = self.get(f"{prefix}.bias").astype(np.float64)
        mean = self.get(f"{prefix}.running_mean").astype(np.float64)
        var = self.get(f"{prefix}.running_var").astype(np.float64)
        self.used.add(f"{prefix}.num_batches_tracked")  # training counter, not needed for inference
        mul = gamma / np.sqrt(var + BN_EPS)
        return mul, beta - mean * mul

    def conv_bn(
        self,
        x: str,
        in_ch: int,
        conv_weight: str,
        bn_prefix: str,
        stride: int,
        name: str,
        activation: str | None,
        prelu_weight: str | None = None,
    ) -> tuple[str, int]:
        """Bias-free conv + folded BN (+ activation). Returns (output name, output channels)."""
        w = self.get(conv_weight)
        out_ch, in_per_group, kh, kw = w.shape
        if kh != kw:
            raise ValueError(f"{conv_weight}: non-square kernel {kh}x{kw}")
        depthwise = in_per_group == 1 and out_ch == in_ch and in_ch > 1
        if not depthwise and in_per_group != in_ch:
            raise ValueError(f"{conv_weight}: expected {in_ch} input channels, got {in_per_group}")
        mul, add = self.bn_fold(bn_prefix)
        folded = w.astype(np.float64) * mul[:, None, None, None]
        pad = 1 if kh == 3 else 0
        attrs = {
            "kernel_shape": [kh, kw],
            "strides": [stride, stride],
            "pads": [pad, pad, pad, pad],
            "dilations": [1, 1],
            "group": out_ch if depthwise else 1,
        }
        w_name = self.init(f"{name}.weight", folded)
        b_name = self.init(f"{name}.bias", add)
        y = self.node("Conv", [x, w_name, b_name], f"{name}.conv" if activation else name, **attrs)
        if activation == "prelu":
            if prelu_weight is None:
                raise ValueError(f"{name}: PReLU without slope tensor")
            slope = self.get(prelu_weight).astype(np.float64).reshape(out_ch, 1, 1)
            s_name = self.init(f"{name}.prelu_slope", slope)
            y = self.node("PRelu", [y, s_name], name)
        elif activation == "relu":
            y = self.node("Relu", [y], name)
        elif activation == "sigmoid":
            y = self.node("Sigmoid", [y], name)
        elif activation is not None:
            raise ValueError(f"unknown activation {activation}")
        return y, out_ch

    def bottleneck(self, x: str, in_ch: int, prefix: str, stride: int, residual: bool) -> tuple[str, int]:
        y, c = self.conv_bn(
            x, in_ch, f"{prefix}.conv.conv.weight", f"{prefix}.conv.bn", 1, f"{prefix}.expand", "prelu",
            f"{prefix}.conv.prelu.weight",
        )
        y, c = self.conv_bn(
            y, c, f"{prefix}.conv_dw.conv.weight", f"{prefix}.conv_dw.bn", stride, f"{prefix}.dw", "prelu",
            f"{prefix}.conv_dw.prelu.weight",
        )
        y, c = self.conv_bn(y, c, f"{prefix}.project.conv.weight", f"{prefix}.project.bn", 1, f"{prefix}.project", None)
        if self.has(f"{prefix}.se_module.fc1.weight"):
            pooled = self.node("GlobalAveragePool", [y], f"{prefix}.se.pool")
            s, sc = self.conv_bn(
                pooled, c, f"{prefix}.se_module.fc1.weight", f"{prefix}.se_module.bn1", 1, f"{prefix}.se.fc1", "relu"
            )
            s, _ = self.conv_bn(
                s, sc, f"{prefix}.se_module.fc2.weight", f"{prefix}.se_module.bn2", 1, f"{prefix}.se.fc2", "sigmoid"
            )
            y = self.node("Mul", [y, s], f"{prefix}.se.scaled")
        if residual:
            if c != in_ch:
                raise ValueError(f"{prefix}: residual block changes channels {in_ch} -> {c}")
            y = self.node("Add", [x, y], f"{prefix}.out")
        return y, c

    def count_blocks(self, stage: str) -> int:
        n = 0
        while self.has(f"{stage}.model.{n}.conv.conv.weight"):
            n += 1
        if n == 0:
            raise ValueError(f"MiniFASNet weights: no blocks in {stage}")
        return n


def build_model(weights: dict[str, np.ndarray], variant: str, scale: float, source_name: str, source_sha: str):
    g = GraphBuilder(weights)
    x = g.node("Transpose", ["input"], "input_nchw", perm=[0, 3, 1, 2])
    y, c = g.conv_bn(x, 3, "conv1.conv.weight", "conv1.bn", 2, "conv1", "prelu", "conv1.prelu.weight")
    y, c = g.conv_bn(y, c, "conv2_dw.conv.weight", "conv2_dw.bn", 1, "conv2_dw", "prelu", "conv2_dw.prelu.weight")
    y, c = g.bottleneck(y, c, "conv_23", 2, False)
    for i in range(g.count_blocks("conv_3")):
        y, c = g.bottleneck(y, c, f"conv_3.model.{i}", 1, True)
    y, c = g.bottleneck(y, c, "conv_34", 2, False)
    for i in range(g.count_blocks("conv_4")):
        y, c = g.bottleneck(y, c, f"conv_4.model.{i}", 1, True)
    y, c = g.bottleneck(y, c, "conv_45", 2, False)
    for i in range(g.count_blocks("conv_5")):
        y, c = g.bottleneck(y, c, f"conv_5.model.{i}", 1, True)
    y, c = g.conv_bn(
        y, c, "conv_6_sep.conv.weight", "conv_6_sep.bn", 1, "conv_6_sep", "prelu", "conv_6_sep.prelu.weight"
    )
    dw6 = g.get("conv_6_dw.conv.weight")
    if dw6.shape != (c, 1, 5, 5):
        raise ValueError(f"conv_6_dw must be a 5x5 depthwise conv over {c} channels, got {list(dw6.shape)}")
    y, c = g.conv_bn(y, c, "conv_6_dw.conv.weight", "conv_6_dw.bn", 1, "conv_6_dw", None)
    flat = g.node("Flatten", [y], "flatten", axis=1)

    # linear (no bias) + BatchNorm1d folded into one Gemm; then prob (no bias)
    lin = g.get("linear.weight").astype(np.float64)
    embed, feat = lin.shape
    if feat != c:
        raise ValueError(f"linear expects {feat} features, conv_6_dw gives {c}")
    mul, add = g.bn_fold("bn")
    lw = g.init("linear.weight", lin * mul[:, None])
    lb = g.init("linear.bias", add)
    emb = g.node("Gemm", [flat, lw, lb], "embedding", transB=1)
    prob = g.get("prob.weight")
    classes, embed2 = prob.shape
    if embed2 != embed:
        raise ValueError("prob/linear shape mismatch")
    pw = g.init("prob.weight", prob)
    logits = g.node("Gemm", [emb, pw], "logits", transB=1)
    g.node("Softmax", [logits], "probs", axis=1)

    unused = sorted(set(weights) - g.used)
    if unused:
        raise ValueError(f"{variant}: tensors not used by the graph: {unused[:10]}")

    graph = helper.make_graph(
        g.nodes,
        f"minifasnet_{variant}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", INPUT_SIZE, INPUT_SIZE, 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", classes])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="selfie-inspect scripts/models/build_minifasnet.py",
        producer_version="1",
        doc_string=(
            f"MiniFASNet {variant.upper()} (minivision-ai/Silent-Face-Anti-Spoofing, Apache-2.0), batch-norm folded. "
            f"Input NHWC [N,80,80,3] BGR 0-255 float32; output softmax [N,3], index 1 = real. "
            f"Face box enlarged {scale}x around its centre, resized to 80x80."
        ),
    )
    model.ir_version = IR_VERSION
    meta = {
        "variant": variant,
        "crop_scale": str(scale),
        "input_layout": "NHWC",
        "input_channel_order": "BGR",
        "input_range": "0-255",
        "output": "softmax[3], index 1 = real",
        "source": source_name,
        "source_sha256": source_sha,
        "license": "Apache-2.0",
    }
    for k in sorted(meta):
        entry = model.metadata_props.add()
        entry.key = k
        entry.value = meta[k]
    onnx.checker.check_model(model, full_check=True)
    return model


def smoke_test(path: Path) -> str:
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime not installed: smoke test skipped"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(2, INPUT_SIZE, INPUT_SIZE, 3)).astype(np.float32)
    (p,) = sess.run(["probs"], {"input": x})
    if p.shape != (2, 3) or not np.all(np.isfinite(p)) or np.max(np.abs(p.sum(axis=1) - 1)) > 1e-5:
        raise RuntimeError(f"{path.name}: smoke test failed: {p}")
    return f"onnxruntime {ort.__version__} smoke test ok"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="directory with the safetensors")
    ap.add_argument(
        "--check-only", action="store_true", help="build in memory and compare with the files on disk; write nothing"
    )
    args = ap.parse_args()
    status = 0
    for variant, src, dst, scale in MODELS:
        src_path = args.model_dir / src
        dst_path = args.model_dir / dst
        src_bytes = src_path.read_bytes()
        src_sha = hashlib.sha256(src_bytes).hexdigest()
        model = build_model(read_safetensors(src_path), variant, scale, src, src_sha)
        data = model.SerializeToString(deterministic=True)
        sha = hashlib.sha256(data).hexdigest()
        if args.check_only:
            same = dst_path.exists() and dst_path.read_bytes() == data
            print(f"{dst}: {'up to date' if same else 'DIFFERS'} (built sha256 {sha})")
            status |= 0 if same else 1
            continue
        dst_path.write_bytes(data)
        print(f"{dst}: {len(data)} bytes, sha256 {sha} (from {src}, sha256 {src_sha}); {smoke_test(dst_path)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
