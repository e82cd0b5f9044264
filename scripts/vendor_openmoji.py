"""Copy the OpenMoji SVGs the catalogue uses (app/media/illustrations.py) into
static/vendor/openmoji/<key>.svg, with the licence. Run by `make vendor` after `npm ci`."""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.media.illustrations import ILLUSTRATIONS  # noqa: E402

SOURCE = ROOT / "node_modules" / "openmoji"
TARGET = ROOT / "static" / "vendor" / "openmoji"


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for old in TARGET.glob("*.svg"):  # drop drawings no longer in the registry
        old.unlink()
    for illustration in ILLUSTRATIONS.values():
        shutil.copyfile(
            SOURCE / "color" / "svg" / f"{illustration.openmoji}.svg",
            TARGET / f"{illustration.key}.svg",
        )
    shutil.copyfile(SOURCE / "LICENSE.txt", TARGET / "LICENSE.txt")
    print(f"copied {len(ILLUSTRATIONS)} OpenMoji drawings to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
