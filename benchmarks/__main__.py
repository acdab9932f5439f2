"""python -m benchmarks [http|subscriptions] [--seconds S] [--concurrency C]
[--clients N] [--rooms R] [--events E]"""

from __future__ import annotations

import argparse

from benchmarks import http_api, subscriptions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("which", nargs="?", default="http", choices=["http", "subscriptions"])
    parser.add_argument("--seconds", type=float, default=10.0, help="http: seconds per case")
    parser.add_argument("--concurrency", type=int, default=32, help="http: connections")
    parser.add_argument("--clients", type=int, default=1000, help="subscriptions: WebSockets")
    parser.add_argument("--rooms", type=int, default=50, help="subscriptions: quotations")
    parser.add_argument("--events", type=int, default=300, help="subscriptions: events sent")
    args = parser.parse_args(argv)
    if args.which == "http":
        http_api.main(seconds=args.seconds, concurrency=args.concurrency)
    else:
        subscriptions.main(clients=args.clients, rooms=args.rooms, events=args.events)


if __name__ == "__main__":
    main()
