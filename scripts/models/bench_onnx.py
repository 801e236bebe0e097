"""Median onnxruntime (Python) session.run time of the converted models, model only (no pre/post-processing).

Usage: bench_onnx.py [--threads 1] [--runs 50]
Inputs are the reference PNGs where one exists at the model's size, else random data of the stated shape.
"""
import argparse
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

from _paths import ONNX

CASES = [
    ("retinaface", "x:0", (1, 256, 320, 3), 255.0),
    ("retinaface", "x:0", (1, 448, 640, 3), 255.0),
    ("face-landmark", "input_1", (1, 192, 192, 3), 1.0),
    ("mask-classifier", "input_1", (1, 224, 224, 3), 2.0),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"onnxruntime {ort.__version__}, intra_op_num_threads={args.threads}, {args.runs} runs after 5 warm-ups")
    for name, in_name, shape, span in CASES:
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        sess = ort.InferenceSession(str(ONNX[name]), so, providers=["CPUExecutionProvider"])
        x = (rng.random(shape, dtype=np.float32) * span - (1.0 if name == "mask-classifier" else 0.0)).astype(np.float32)
        for _ in range(5):
            sess.run(None, {in_name: x})
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            sess.run(None, {in_name: x})
            times.append((time.perf_counter() - t0) * 1000)
        print(f"{name:16s} {'x'.join(map(str, shape)):14s} median {statistics.median(times):7.2f} ms   "
              f"p10 {np.percentile(times, 10):7.2f}   p90 {np.percentile(times, 90):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
