"""Asynchronous analysis and the shared result cache, on DynamoDB, SQS and S3.

The service stays stateless: a job, its progress and its result live in the DynamoDB table
every replica shares (large payloads in S3), its id travels on SQS, and any replica's worker
runs it (:mod:`service.jobs.worker`). :mod:`service.jobs.store` is the only module that talks to
AWS; :mod:`service.jobs.cache` reuses results for the same text, parameters and model.
"""
