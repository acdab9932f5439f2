"""python -m benchmarks [http] [--seconds S] [--concurrency C]"""

from __future__ import annotations

import argparse

from benchmarks import http_api


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("which", nargs="?", default="http", choices=["http"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    if args.which == "http":
        http_api.main(seconds=args.seconds, concurrency=args.concurrency)


if __name__ == "__main__":
    main()
