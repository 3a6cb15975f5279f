"""File storage in the tests: a real S3-compatible server (moto in server mode, on 127.0.0.1), and what is stored.

The server checks signatures and IAM policies, like MinIO in docker-compose.yml: the app signs in as a user holding
exactly the policy production gives it (deploy/minio/app-policy.json), and the tests look at the bucket as an
administrator. Each test gets its own key prefix in the one bucket, so tests never see each other's files.
"""

import json
import logging
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
APP_POLICY = ROOT / "deploy" / "minio" / "app-policy.json"
BUCKET = "mediation-documents"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def s3_client(endpoint: str, key_id: str, secret: str) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required", response_checksum_validation="when_required"),
    )


@dataclass
class S3Server:
    endpoint: str
    app_key_id: str
    app_secret: str
    admin: Any
    # A signed-in user of the same server with no grants at all: what anyone but the app would be.
    outsider: Any
    _server: Any

    @classmethod
    @contextmanager
    def started(cls) -> Iterator["S3Server"]:
        from moto.core.authorization import enable_iam_authentication
        from moto.server import ThreadedMotoServer

        # One line per request otherwise.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        try:
            # Users are made before IAM checks are switched on; from then on every request must be signed and allowed.
            iam = boto3.session.Session().client("iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="setup", aws_secret_access_key="setup")

            def user(name: str, policy: dict | None) -> tuple[str, str]:
                iam.create_user(UserName=name)
                if policy is not None:
                    iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
                key = iam.create_access_key(UserName=name)["AccessKey"]
                return key["AccessKeyId"], key["SecretAccessKey"]

            admin = user("test-admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
            app = user("mediation-app", json.loads(APP_POLICY.read_text()))
            outsider = user("outsider", None)
            with enable_iam_authentication():
                running = cls(
                    endpoint=endpoint,
                    app_key_id=app[0],
                    app_secret=app[1],
                    admin=s3_client(endpoint, *admin),
                    outsider=s3_client(endpoint, *outsider),
                    _server=server,
                )
                running.admin.create_bucket(Bucket=BUCKET)
                yield running
        finally:
            server.stop()

    def settings_for_a_test(self) -> dict[str, str]:
        """The storage settings of one test: the app's credentials, and a prefix of its own."""
        return {
            "storage_backend": "s3",
            "s3_bucket": BUCKET,
            "s3_endpoint_url": self.endpoint,
            "s3_region": REGION,
            "s3_access_key_id": self.app_key_id,
            "s3_secret_access_key": self.app_secret,
            "s3_key_prefix": f"test-{uuid.uuid4().hex[:12]}/",
        }


# Set by the session fixture in conftest.py when a test first runs on the s3 backend.
RUNNING: S3Server | None = None


def _server() -> S3Server:
    assert RUNNING is not None, "the s3_server fixture starts the server"
    return RUNNING


def stored_files(settings: Settings) -> dict[str, int]:
    """Every file the app's store holds, by key, with its size: the uploads folder, or the objects under the prefix."""
    if settings.resolved_storage_backend == "local":
        folder = settings.data_dir / "uploads"
        return {p.name: p.stat().st_size for p in sorted(folder.iterdir())} if folder.exists() else {}
    listing = _server().admin.list_objects_v2(Bucket=settings.s3_bucket, Prefix=settings.s3_key_prefix)
    return {o["Key"].removeprefix(settings.s3_key_prefix): o["Size"] for o in listing.get("Contents", [])}


def unfinished_uploads(settings: Settings) -> list[str]:
    """Uploads begun and never completed nor aborted: multipart uploads in the bucket, `.part` files in the folder."""
    if settings.resolved_storage_backend == "local":
        return [name for name in stored_files(settings) if name.endswith(".part")]
    listing = _server().admin.list_multipart_uploads(Bucket=settings.s3_bucket, Prefix=settings.s3_key_prefix)
    return [u["Key"] for u in listing.get("Uploads", [])]


def object_etag(settings: Settings, key: str) -> str:
    """S3's ETag of a stored object: `"<md5 of the parts' md5s>-<parts>"` when it went up as a multipart upload."""
    return _server().admin.head_object(Bucket=settings.s3_bucket, Key=settings.s3_key_prefix + key)["ETag"].strip('"')
