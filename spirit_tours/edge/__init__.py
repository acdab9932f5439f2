"""The HTTP edge: what a request may cost (size, time) before the application sees it.

``server`` builds the one uvicorn configuration used by ``spirit-tours serve``, the tests and
the benchmarks; ``protocol`` bounds the request head (size and time) and the time to receive a
body; ``body`` bounds a body's size per route while it streams.
"""
