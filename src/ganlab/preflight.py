"""Checks that run before a stage does any work: can it write its outputs and reach the MLflow
store? A refusal here costs seconds; the same fault found after an hour of training costs the
hour (and leaves a half-logged run behind)."""

from __future__ import annotations

import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from ganlab.config import Config, ConfigError


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(path: Path, what: str) -> None:
    """path (a folder or a file, existing or to be created) can be written by this process."""
    existing = _nearest_existing(path)
    if existing.is_file() and existing != path:
        raise ConfigError(f"{what}: {path} cannot be created because {existing} is a file; move it or change {what}")
    folder = existing if existing.is_dir() else existing.parent
    if not os.access(folder, os.W_OK | os.X_OK) or (existing == path and not os.access(path, os.W_OK)):
        raise ConfigError(f"{what}: {existing} is not writable; fix its permissions or point {what} elsewhere")


def check_outputs(cfg: Config) -> None:
    for key, relative in cfg.paths.model_dump().items():
        check_writable(cfg.path(relative), f"paths.{key}")


# The database stores MLflow speaks to through SQLAlchemy, and their servers' default ports
DATABASE_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mssql": 1433}
CREDENTIALS = re.compile(r"(?<=://)([^:/@\s]+):[^@/\s]*@")


def masked(text: str) -> str:
    """text with the password of any `scheme://user:password@host` in it replaced by ***: error
    lines and logs never show a store's password."""
    return CREDENTIALS.sub(r"\1:***@", text)


def check_database_server(uri: str, timeout: float) -> None:
    """A database store's server accepts connections (its host and port answer), before a stage
    empties its outputs and MLflow retries for minutes."""
    parts = urllib.parse.urlsplit(uri)
    scheme = parts.scheme.split("+")[0]
    try:
        port = parts.port or DATABASE_PORTS[scheme]
    except ValueError:
        raise ConfigError(f"the MLflow store {masked(uri)}: its port is not a number; fix MLFLOW_TRACKING_URI "
                          "(or mlflow.tracking_uri)") from None
    host = parts.hostname
    if host is None:  # a local server's Unix socket: the driver finds it, and says so if not
        return
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"the MLflow store {masked(uri)}: its {scheme} server at {host}:{port} cannot be reached "
                          f"({exc.strerror or exc}); start it, or unset MLFLOW_TRACKING_URI (and "
                          "mlflow.tracking_uri) to use the local store") from None


def check_tracking_store(uri: str, timeout: float = 5.0) -> None:
    """The MLflow store answers (a server or a database) or can be written (SQLite, files)."""
    if urllib.parse.urlsplit(uri).scheme.split("+")[0] in DATABASE_PORTS:
        check_database_server(uri, timeout)
        return
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout) as response:
                if response.status == 200:
                    return
                problem = f"it answered HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            problem = f"it answered HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            problem = f"it cannot be reached ({getattr(exc, 'reason', exc)})"
        raise ConfigError(f"MLflow tracking server {masked(uri)}: {masked(problem)}; start it, or unset MLFLOW_TRACKING_URI "
                          "(and mlflow.tracking_uri) to use the local store")
    where = "MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else "mlflow.tracking_uri"
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        check_writable(database, f"the MLflow store ({where})")
        check_writable(database.parent / "mlartifacts", f"the MLflow artifacts beside {database.name}")
    elif uri.startswith("file:") or "://" not in uri:
        check_writable(Path(uri.removeprefix("file://").removeprefix("file:")), f"the MLflow store ({where})")


def preflight(cfg: Config) -> None:
    from ganlab.tracking import tracking_uri

    check_outputs(cfg)
    check_tracking_store(tracking_uri(cfg))
