"""Run one benchmark by name, or all: `python3 dev.py bench [name] [args…]`."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BENCHES = {"credits": "bench.credits_bench", "cluster": "bench.cluster_bench", "usage": "bench.usage_bench",
           "keywords": "bench.keywords_bench", "import": "bench.import_bench", "page": "bench.page_bench"}
BENCHES["overlap"] = "bench.overlap_bench"
BENCHES["writer"] = "bench.writer_bench"
BENCHES["content"] = "bench.content_bench"
BENCHES["publish"] = "bench.publish_bench"
BENCHES["automation"] = "bench.automation_bench"


def main(argv: list[str]) -> int:
    names = [argv[0]] if argv and argv[0] in BENCHES else list(BENCHES)
    rest = argv[1:] if argv and argv[0] in BENCHES else argv
    for name in names:
        print(f"== {name}", flush=True)
        importlib.import_module(BENCHES[name]).main(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
