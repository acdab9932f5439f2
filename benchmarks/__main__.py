"""python -m benchmarks [http|subscriptions|ws-memory|email|payments|analytics|ml] [--seconds S]
[--concurrency C] [--only SUBSTR] [--load-processes L] [--clients N] [--rooms R] [--events E]
[--processes P]
[--workers W[,W…]] [--rate D] [--paced-seconds S] [--compression on|off] [--no-trace] [--ws IMPL]
[--messages M] [--renders R] [--render-only] [--workers-concurrency W] [--payers P]
[--connections N] [--smoke] [--worker-nice N] [--history N] [--requests N]"""

from __future__ import annotations

import argparse

from benchmarks import analytics, email, http_api, ml, payments, subscriptions, ws_memory


def _counts(text: str) -> list[int]:
    """``1,2``: positive counts."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from error
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"counts must be positive: {text!r}")
    return counts


def _one(counts: list[int], option: str) -> int:
    if len(counts) != 1:
        raise SystemExit(f"{option}: one number here")
    return counts[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument(
        "which",
        nargs="?",
        default="http",
        choices=["http", "subscriptions", "ws-memory", "email", "payments", "analytics", "ml"],
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="http: seconds per case (default 10); payments: stop starting payers after this",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="http: connections (default 32); payments: payers in flight (default 100)",
    )
    parser.add_argument(
        "--only",
        metavar="SUBSTR",
        default=None,
        help="http: only the cases whose name contains SUBSTR (any case)",
    )
    parser.add_argument(
        "--load-processes", type=int, default=1, help="http: load-generator processes"
    )
    parser.add_argument(
        "--clients", type=int, default=1000, help="subscriptions, ws-memory: WebSockets"
    )
    parser.add_argument(
        "--rooms",
        type=int,
        default=None,
        help="subscriptions (default 50), ws-memory (default 10): rooms (quotations)",
    )
    parser.add_argument("--events", type=int, default=300, help="subscriptions: events sent")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="subscriptions: client processes (default: one per 2,500 clients, at least 2)",
    )
    parser.add_argument(
        "--workers",
        type=_counts,
        default=None,
        help="API server (uvicorn) processes: http, a list (default 1,2); subscriptions, one "
        "number (default 1)",
    )
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="subscriptions: paced phase, deliveries/s"
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=20.0, help="subscriptions: paced phase length"
    )
    parser.add_argument(
        "--compression",
        choices=["on", "off"],
        default=None,
        help="subscriptions, ws-memory: permessage-deflate (default: SPIRIT_WEBSOCKET_COMPRESSION)",
    )
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="ws-memory: RSS only, no tracemalloc breakdown (half the runs)",
    )
    parser.add_argument(
        "--ws",
        action="append",
        choices=list(ws_memory.IMPLEMENTATIONS),
        help="ws-memory: uvicorn WebSocket implementation (repeat; default: all installed)",
    )
    parser.add_argument("--messages", type=int, default=5000, help="email: BULK rows delivered")
    parser.add_argument("--renders", type=int, default=2000, help="email: messages composed")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="email: only the render half (Composer.compose beside its baseline), in seconds",
    )
    parser.add_argument(
        "--workers-concurrency",
        type=int,
        default=4,
        help="email: `spirit-tours worker --concurrency` (maintenance lane, database pool)",
    )
    parser.add_argument("--payers", type=int, default=3000, help="payments: payers (bookings)")
    parser.add_argument(
        "--connections",
        type=int,
        default=None,
        help="payments: keep-alive connections (default: --concurrency)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="payments, analytics, ml: a tiny run (the test suite's)",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=20_000,
        help="analytics, ml: generated quotations (spirit-tours seed-demo --history N)",
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="analytics: sequential requests of each kind"
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="payments: niceness of the `spirit-tours worker` process (0: as the server)",
    )
    args = parser.parse_args(argv)
    if args.which == "http":
        http_api.main(
            seconds=args.seconds or 10.0,
            concurrency=args.concurrency or 32,
            workers=args.workers or [1, 2],
            only=args.only,
            load_processes=args.load_processes,
        )
    elif args.which == "subscriptions":
        subscriptions.main(
            clients=args.clients,
            rooms=args.rooms or 50,
            events=args.events,
            processes=args.processes,
            workers=_one(args.workers or [1], "--workers"),
            rate=args.rate,
            paced_seconds=args.paced_seconds,
            compression=None if args.compression is None else args.compression == "on",
        )
    elif args.which == "ws-memory":
        ws_memory.main(
            clients=args.clients,
            rooms=args.rooms or 10,
            compression=None if args.compression is None else args.compression == "on",
            trace=not args.no_trace,
            implementations=args.ws,
        )
    elif args.which == "payments":
        if args.smoke:
            payments.smoke()
        else:
            payments.main(
                payers=args.payers,
                concurrency=args.concurrency or 100,
                workers=_one(args.workers or [2], "--workers"),
                seconds=args.seconds,
                connections=args.connections,
                worker_nice=args.worker_nice,
            )
    elif args.which == "analytics":
        if args.smoke:
            analytics.smoke()
        else:
            analytics.main(history=args.history, requests=args.requests)
    elif args.which == "ml":
        ml.smoke() if args.smoke else ml.main(history=args.history)
    elif args.render_only:
        email.render_only(args.renders)
    else:
        email.main(
            messages=args.messages,
            renders=args.renders,
            worker_concurrency=args.workers_concurrency,
        )


if __name__ == "__main__":
    main()
