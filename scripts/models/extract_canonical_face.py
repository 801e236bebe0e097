"""MediaPipe's canonical face model (468 vertices + its weighted Procrustes basis) -> models/face-geometry/.

Source: npm @mediapipe/face_mesh@0.4.1657299874 (Apache-2.0). Its Emscripten data pack holds
geometry_pipeline_metadata_landmarks.binarypb (a GeometryPipelineMetadata protobuf) at the byte range the pack's
loader script lists. The protobuf is read with a few lines of wire-format parsing (no generated classes needed):
field 1 = canonical_mesh (Mesh3d: field 3 = vertex_buffer, 5 floats per vertex x, y, z, u, v),
field 2 = procrustes_landmark_basis (field 1 = landmark_id, field 2 = weight).
Usage: python extract_canonical_face.py <unpacked npm package folder>
"""
import hashlib
import json
import re
import struct
import sys
from pathlib import Path

from _paths import MODELS

PACK = "face_mesh_solution_packed_assets.data"
LOADER = "face_mesh_solution_packed_assets_loader.js"
ENTRY = "geometry_pipeline_metadata_landmarks.binarypb"
EXPECTED_SHA256 = "bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4"


def varint(b: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return value, i


def fields(b: bytes):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(b, i)
        elif wire == 2:
            length, i = varint(b, i)
            value, i = b[i : i + length], i + length
        elif wire == 5:
            value, i = b[i : i + 4], i + 4
        elif wire == 1:
            value, i = b[i : i + 8], i + 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def main() -> int:
    pkg = Path(sys.argv[1])
    loader = (pkg / LOADER).read_text()
    m = re.search(r'"filename":\s*"[^"]*' + re.escape(ENTRY) + r'",\s*"start":\s*(\d+),\s*"end":\s*(\d+)', loader)
    if not m:
        raise SystemExit(f"{ENTRY} not listed in {LOADER}")
    start, end = int(m.group(1)), int(m.group(2))
    data = (pkg / PACK).read_bytes()[start:end]
    digest = hashlib.sha256(data).hexdigest()
    if digest != EXPECTED_SHA256:
        raise SystemExit(f"{ENTRY}: sha256 {digest}, expected {EXPECTED_SHA256}")
    top = list(fields(data))
    mesh = next(v for n, w, v in top if n == 1)
    floats = [struct.unpack("<f", v)[0] for n, w, v in fields(mesh) if n == 3 and w == 5]
    if len(floats) != 468 * 5:
        raise SystemExit(f"expected 468 x 5 vertex floats, got {len(floats)}")
    vertices = [[round(floats[i * 5 + k], 4) for k in range(3)] for i in range(468)]
    basis = []
    for n, w, v in top:
        if n != 2:
            continue
        entry = {num: val for num, _, val in fields(v)}
        basis.append([entry.get(1, 0), round(struct.unpack("<f", entry[2])[0], 4)])
    out = MODELS / "face-geometry" / "canonical-face.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"vertices": vertices, "procrustesBasis": basis}, separators=(",", ":")) + "\n")
    print(f"wrote {out}: 468 vertices, {len(basis)} Procrustes landmarks (source sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
