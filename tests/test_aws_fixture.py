"""The moto fixture every AWS test stands on: reachable, isolated, and reset between tests."""

from __future__ import annotations

import boto3


def test_boto3_reaches_moto_through_the_environment(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="fixture-check")
    assert s3.meta.endpoint_url == aws.endpoint
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["fixture-check"]


def test_each_test_starts_with_an_empty_moto(aws):
    assert boto3.client("s3").list_buckets()["Buckets"] == []
