#!/usr/bin/env bash
# The tracking-server test runs MLflow on a PostgreSQL backend store: Debian's PostgreSQL.
# Never fatal: without it that test is skipped.
set -u
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null && exit 0
exec "$(dirname "$0")/apt-ensure.sh" postgresql PostgreSQL "the MLflow-server-on-PostgreSQL test is skipped"
