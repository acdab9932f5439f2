"""saq queues, job functions and the worker."""
