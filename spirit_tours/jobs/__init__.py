"""The workers' entry points: saq queues, job functions, crons, the e-mail feed's loop, the
queue monitor and the worker process (``worker.JobRunner``)."""
