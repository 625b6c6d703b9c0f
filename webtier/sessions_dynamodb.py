"""Sessions in a DynamoDB table: `SESSION_STORE=dynamodb` (SESSION_ENGINE points here).

The alternative to ElastiCache for sessions on AWS: a table every instance shares, with
no server to run. One item per session:

    session_key (S, the partition key)   data (S, Django's signed encoding)
    expires (N, epoch seconds: the table's TTL attribute)

- A new key is written with a conditional put (`attribute_not_exists`), so two
  instances can never hand out one session: the loser draws another key.
- An existing session is saved only while its item still exists (`attribute_exists`):
  a request that was in flight while the user logged out elsewhere cannot write the
  session back (Django's database backend behaves the same way, via UpdateError).
- Expiry is checked on every read: DynamoDB's TTL deletes expired items late (up to a
  few days), and moto keeps the TTL setting without ever expiring anything.
- Logout and a password change delete the item at once: Django calls `delete()` (flush,
  cycle_key) and reads are strongly consistent, so no instance sees it afterwards.

The table is made by the CloudFormation stack (deploy/) and, for the local cluster and
tests, by `create_table()`.
"""

from __future__ import annotations

import time

from botocore.exceptions import ClientError
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError

import awsenv


def dynamodb_client():
    """The process's DynamoDB client. Short timeouts: every request may read its session."""
    return awsenv.client("dynamodb", connect_timeout=1, read_timeout=2, retries={"max_attempts": 2})


def create_table(name: str | None = None) -> str:
    """Create the sessions table (on-demand, TTL on `expires`) unless it exists."""
    name = name or settings.SESSION_DYNAMODB_TABLE
    client = dynamodb_client()
    try:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "session_key", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "session_key", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return name
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
    )
    return name


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


class SessionStore(SessionBase):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self.table = settings.SESSION_DYNAMODB_TABLE

    def _item(self, session_key: str) -> dict | None:
        """The live item of `session_key`, or None (missing or expired)."""
        item = (
            dynamodb_client()
            .get_item(
                TableName=self.table, Key={"session_key": {"S": session_key}}, ConsistentRead=True
            )
            .get("Item")
        )
        if item is None or int(item["expires"]["N"]) <= time.time():
            return None
        return item

    def load(self) -> dict:
        item = self._item(self.session_key) if self.session_key else None
        if item is None:
            self._session_key = None
            return {}
        return self.decode(item["data"]["S"])

    def exists(self, session_key: str) -> bool:
        return self._item(session_key) is not None

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue  # another instance drew this key first
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        condition = (
            "attribute_not_exists(session_key)"
            if must_create
            else ("attribute_exists(session_key)")
        )
        try:
            dynamodb_client().put_item(
                TableName=self.table,
                Item={
                    "session_key": {"S": self._get_or_create_session_key()},
                    "data": {"S": self.encode(data)},
                    "expires": {"N": str(int(self.get_expiry_date().timestamp()))},
                },
                ConditionExpression=condition,
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            raise (CreateError if must_create else UpdateError) from None

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        dynamodb_client().delete_item(TableName=self.table, Key={"session_key": {"S": session_key}})

    @classmethod
    def clear_expired(cls) -> int:
        """Delete expired items now (`clearsessions`, the clear-sessions job): TTL is late."""
        table, client = settings.SESSION_DYNAMODB_TABLE, dynamodb_client()
        deleted = 0
        pages = client.get_paginator("scan").paginate(
            TableName=table,
            ProjectionExpression="session_key",
            FilterExpression="expires <= :now",
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
        )
        for page in pages:
            for item in page.get("Items", []):
                client.delete_item(TableName=table, Key={"session_key": item["session_key"]})
                deleted += 1
        return deleted
