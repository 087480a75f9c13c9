#!/usr/bin/env bash
# The replication experiment on synthetic data (replication.sql): four input variants trained with the same
# seed and budget, test AUCs with CIs and paired DeLong tests. Run by scripts/bench.sh (make bench
# BENCH=replication); takes tens of minutes on two cores. REPLICATION_PHOTOGRAPHS/SIDE/EPOCHS scale it.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
psql -X -v photographs="${REPLICATION_PHOTOGRAPHS:-1600}" -v side="${REPLICATION_SIDE:-96}" \
	-v epochs="${REPLICATION_EPOCHS:-12}" -f "$REPO/test/bench/replication/replication.sql"
