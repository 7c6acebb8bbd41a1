"""A real S3-compatible server for the tests: moto's server mode on a free loopback port, with
its IAM checks on, so a wrong access key or secret is refused as AWS refuses it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.net import free_port

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
# The unauthenticated calls moto allows before it checks every signature: creating the user,
# its access key and its policy.
SETUP_CALLS = 3
ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


@dataclass(frozen=True)
class S3Server:
    """Where the server listens, and the one user whose keys it accepts."""

    endpoint: str
    access_key: str
    secret_key: str

    def boto3(self, service: str = "s3") -> object:
        """An independent client (boto3) to check what the server holds."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )


@contextmanager
def moto_s3_server() -> Iterator[S3Server]:
    """Start `moto_server` on loopback; stop it (by its own process id) afterwards."""
    import boto3

    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)}
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)
        endpoint = f"http://127.0.0.1:{port}"
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam.create_user(UserName="rivetr")
        key = iam.create_access_key(UserName="rivetr")["AccessKey"]
        iam.put_user_policy(UserName="rivetr", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
        yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        process.terminate()
        process.wait(timeout=10)
