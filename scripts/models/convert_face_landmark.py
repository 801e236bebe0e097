"""MediaPipe face_landmark.tflite (PyPI mediapipe==0.10.21) -> ONNX with tf2onnx (tflite path).

Same as: python -m tf2onnx.convert --tflite face_landmark.tflite --opset 13
"""
import sys

import tf2onnx

from _paths import ONNX, OPSET, weights


def main() -> int:
    src = weights("face-landmark")
    out = ONNX["face-landmark"]
    out.parent.mkdir(parents=True, exist_ok=True)
    tf2onnx.convert.from_tflite(str(src), opset=OPSET, output_path=str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
