"""The AWS resources of asynchronous analysis, created on the moto server, and the service
environment that points at them (what the infrastructure creates and passes in production)."""

from __future__ import annotations

import json
import uuid

from tests.harness.moto import MotoServer


def job_resources(moto: MotoServer, *, max_receive_count: int = 2) -> dict[str, str]:
    """A fresh table, queue, dead-letter queue and bucket; the ``ASYNC_*`` variables for them
    plus moto's endpoint and credentials."""
    name = f"jobs-{uuid.uuid4().hex[:10]}"
    moto.client("dynamodb").create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = moto.client("sqs")
    dead_letters = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_letters_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=name,
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_letters_arn, "maxReceiveCount": max_receive_count}
            )
        },
    )["QueueUrl"]
    moto.client("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return {
        **moto.boto3_env(),
        "ASYNC_JOBS_TABLE": name,
        "ASYNC_QUEUE_URL": queue,
        "ASYNC_DEAD_LETTER_QUEUE_URL": dead_letters,
        "ASYNC_RESULTS_BUCKET": name,
    }
