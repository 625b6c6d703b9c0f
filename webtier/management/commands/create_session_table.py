"""Create the DynamoDB sessions table (SESSION_STORE=dynamodb) where no stack made it."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webtier.sessions_dynamodb import create_table


class Command(BaseCommand):
    help = (
        "Create the DynamoDB table that SESSION_STORE=dynamodb keeps sessions in "
        "(on-demand, TTL on `expires`), unless it exists. The CloudFormation stack makes "
        "it in AWS; this is for the local cluster (moto) and hand-made environments."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--table",
            default=None,
            help="table name (default: SESSION_DYNAMODB_TABLE, now %(default)s)".replace(
                "%(default)s", settings.SESSION_DYNAMODB_TABLE
            ),
        )

    def handle(self, *args, table=None, **options):
        try:
            name = create_table(table)
        except (ClientError, BotoCoreError) as exc:
            raise CommandError(f"could not create the sessions table: {exc}") from exc
        self.stdout.write(f"Sessions table {name} is ready.")
