"""Wiring for the Lambdas: Powertools objects and the clone steps, built once per container."""

from __future__ import annotations

import functools

import boto3
from aws_lambda_powertools import Logger, Tracer
from botocore.config import Config

from ecwid_cloner.clone_service import CloneSteps
from ecwid_cloner.config import Settings
from ecwid_cloner.credentials import load_credentials
from ecwid_cloner.ecwid_client import EcwidCloneClient, EcwidCredentials
from ecwid_cloner.jobs import JobsRepository
from ecwid_cloner.mappings import MappingStore

logger = Logger(service="store-cloner")
tracer = Tracer(service="store-cloner")

# Throttled DynamoDB calls are retried by botocore before our own backoff sees them.
_AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=16)


@functools.cache
def clone_steps() -> CloneSteps:
    settings = Settings.from_env()
    dynamodb = boto3.resource("dynamodb", config=_AWS_CONFIG)

    @functools.lru_cache(maxsize=2)
    def client_for(credentials: EcwidCredentials) -> EcwidCloneClient:
        # One client (and its connection pool) per credentials: a rotated
        # secret, seen once Powertools' cache expires, gets a fresh client.
        return EcwidCloneClient(
            credentials,
            settings.ecwid_base_url,
            connect_timeout=settings.ecwid_connect_timeout,
            read_timeout=settings.ecwid_read_timeout,
        )

    def ecwid_client() -> EcwidCloneClient:
        return client_for(load_credentials(settings.credentials_secret))

    return CloneSteps(
        client_factory=ecwid_client,
        jobs=JobsRepository(dynamodb.Table(settings.jobs_table)),
        # A plain client: the resource's own client would re-serialize the
        # already typed items (and cost time doing it).
        mappings=MappingStore(boto3.client("dynamodb", config=_AWS_CONFIG), settings.mappings_table),
        poll_scale=settings.poll_scale,
        deadline_seconds=settings.deadline_seconds,
    )
