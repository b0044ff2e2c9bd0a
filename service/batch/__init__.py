"""Batch jobs (OpenAI's Batch API): input files stored, their lines run below live traffic, results kept.

    jobs = BatchJobs(settings, endpoints)   # endpoints: the fronts' live calls, one per batch endpoint
    jobs.start()                            # resumes what a restart left, from its last committed chunk

An application-level package: it runs lines through the application (in its background lane) by
the endpoints it is given (the HTTP dialects' routes, the gRPC front's Embed and Rerank), and
knows no front, scheduler or engine. Its store (service.batch.store) is embedded - an SQLite file and
the files themselves under `data_dir`, one server - or, with `jobs_store`, a PostgreSQL database that a
fleet of replicas shares, each running chunks of the same jobs.
"""

from __future__ import annotations

from service.batch.jobs import BatchJobs, NoSuchThingError, Upload
from service.batch.records import FINAL, BatchRecord, FileRecord, LineError, Status
from service.batch.runner import Endpoint, Endpoints, LineAnswer

__all__ = [
    "FINAL",
    "BatchJobs",
    "BatchRecord",
    "Endpoint",
    "Endpoints",
    "FileRecord",
    "LineAnswer",
    "LineError",
    "NoSuchThingError",
    "Status",
    "Upload",
]
