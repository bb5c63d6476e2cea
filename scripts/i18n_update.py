"""List the source strings that ``resources/i18n/zh_CN.json`` does not translate yet, and the
translations no longer used; with ``--write-missing FILE`` write the missing ones as a JSON skeleton.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workstation.i18n_scan import scan  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write-missing", metavar="FILE")
    parser.add_argument("--prune", action="store_true", help="drop translations no longer used")
    args = parser.parse_args()
    path = ROOT / "resources" / "i18n" / "zh_CN.json"
    catalogue = json.loads(path.read_text(encoding="utf-8"))
    used = scan(ROOT / "workstation")
    missing = {k: "" for k in used if k not in catalogue}
    unused = sorted(k for k in catalogue if k not in used)
    print(f"{len(used)} strings, {len(missing)} missing, {len(unused)} unused", file=sys.stderr)
    if args.write_missing:
        Path(args.write_missing).write_text(json.dumps(missing, ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        for key in missing:
            print(key)
    if args.prune and unused:
        for key in unused:
            del catalogue[key]
        path.write_text(json.dumps(catalogue, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
