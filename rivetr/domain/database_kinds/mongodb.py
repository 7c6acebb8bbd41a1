"""MongoDB as the official `mongo` image runs it: the root user from its variables, `mongosh`
for health, counts and rotation, a `mongodump --archive` of the database as the backup.

No MongoDB server can be installed on the machines Rivetr is tested on: these commands and the
parser are unit-tested on the formats the tools print, never run against a real server here."""

from __future__ import annotations

import json
from dataclasses import dataclass

from rivetr.domain.database_kinds.base import (
    Artifact,
    Connection,
    Credentials,
    DatabaseKind,
    Exec,
    url_connection,
)

# mongosh and the database tools take a password only in argv or a URI: mongosh reads the URI
# from the environment (it is Node: process.env); the tools read it from a config file
# (--config, database tools 100.3+) written from the environment and removed afterwards.
CONNECT = "const d = connect(process.env.MONGO_URL);"
COUNT_COLLECTIONS = (
    CONNECT + " const counts = {};"
    " d.getCollectionInfos({type: 'collection'}).forEach(c => {"
    " if (!c.name.startsWith('system.'))"
    " counts[c.name] = d.getCollection(c.name).countDocuments({}); });"
    " print(JSON.stringify(counts));"
)
CHANGE_PASSWORD = (
    CONNECT + " d.getSiblingDB('admin').changeUserPassword("
    "process.env.MONGO_USER, process.env.MONGO_NEW_PASSWORD);"
)
WITH_CONFIG = (
    'f=$(mktemp) && printf "%s" "$MONGO_TOOLS_CONFIG" > "$f" && "$@" --config="$f";'
    ' status=$?; rm -f "$f"; exit $status'
)


@dataclass(frozen=True)
class MongoDb(DatabaseKind):
    """MongoDB: apps authenticate as the root user (in `admin`) and use `database`."""

    def container_env(self, credentials: Credentials) -> dict[str, str]:
        return {
            "MONGO_INITDB_ROOT_USERNAME": credentials.user,
            "MONGO_INITDB_ROOT_PASSWORD": credentials.password,
            "MONGO_INITDB_DATABASE": credentials.database,
        }

    def health_check(self, credentials: Credentials) -> Exec:
        # ping needs no authentication
        return Exec(("mongosh", "--quiet", "--norc", "--eval", "db.adminCommand('ping')"))

    def connection(
        self, credentials: Credentials, host: str, port: int | None = None
    ) -> Connection:
        return url_connection(
            "mongodb", credentials, host, port or self.default_port, "?authSource=admin"
        )

    def _shell(self, credentials: Credentials, script: str, **env: str) -> Exec:
        url = self.connection(credentials, "127.0.0.1").url
        return Exec(
            ("mongosh", "--quiet", "--norc", "--nodb", "--eval", script),
            env={"MONGO_URL": url, **env},
        )

    def _tool(self, credentials: Credentials, *argv: str) -> Exec:
        config = f"password: {json.dumps(credentials.password)}\n"  # JSON strings are YAML
        return Exec(
            ("sh", "-c", WITH_CONFIG, "sh", *argv, "--host=127.0.0.1",
             f"--username={credentials.user}", "--authenticationDatabase=admin"),
            env={"MONGO_TOOLS_CONFIG": config},
        )  # fmt: skip

    def dump(self, credentials: Credentials) -> Exec:
        return self._tool(credentials, "mongodump", "--archive", f"--db={credentials.database}")

    def restore(self, credentials: Credentials) -> Exec:
        return self._tool(credentials, "mongorestore", "--archive", "--drop")

    def check(self, credentials: Credentials) -> Exec:
        return self._shell(credentials, COUNT_COLLECTIONS)

    def rotate_password(self, credentials: Credentials, new_password: str) -> Exec:
        return self._shell(
            credentials, CHANGE_PASSWORD, MONGO_USER=credentials.user,
            MONGO_NEW_PASSWORD=new_password,
        )  # fmt: skip


MONGODB = MongoDb(
    name="mongodb",
    default_image="mongo:7",
    default_port=27017,
    data_dir="/data/db",
    artifact=Artifact(".archive", "application/octet-stream"),
    restore_mode="stream_into_running",
    restores_from=frozenset({"mongodb"}),
)
