"""Push the run cache together with every file its records name, so that another machine can
restore a stage from it instead of running it again.

`dvc push --run-cache` sends the run records (.dvc/cache/runs) but only the files of the outputs
it pushes anyway (the workspace's). A record also names its stage's `cache: false` outputs (the
training curves, metrics and plots), which DVC commits to the local cache for the run cache
alone and never pushes; without them a clone finds the record, cannot restore it, and runs the
stage again. (DVC 3.67; a maintainer: "I don't think this operation directly pushes/pulls
anything except the runs files", treeverse/dvc#10472.) `dvc exp run --pull` and `dvc repro
--pull` already fetch what a record names, so pulling needs nothing of ours.

    python -m pipeline.runcache push [-r REMOTE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def push(remote: str | None = None) -> tuple[int, int, int]:
    """Push the run records and the files they name: (records, files) transferred, and the
    number of files named by a record that this cache does not hold."""
    from dvc.repo import Repo

    with Repo() as repo:
        records = repo.stage_cache.push(remote)
        # Every record, not only those new on the remote: an earlier `dvc push --run-cache` may
        # have sent records without their files.
        used = repo.stage_cache.get_used_objs(list(_records(repo.stage_cache.cache_dir)))
        pushed, absent = 0, 0
        for odb, objs in used.items():
            result = repo.cloud.push(objs, remote=remote, odb=odb)
            pushed += len(result.transferred)
            # Records pulled from the remote name files this machine never had: those are
            # wherever the machine that made them pushed them.
            absent += len(result.failed)
        return len(records), pushed, absent


def _records(runs_dir: str):
    for key_dir in sorted(Path(runs_dir).glob("*/*")):
        for value in sorted(key_dir.iterdir()):
            yield key_dir.name, value.name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.runcache", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("push", help="push the run cache and the files its records name")
    cmd.add_argument("-r", "--remote", help="the DVC remote (default: the repository's default remote)")
    args = parser.parse_args(argv)
    try:
        records, files, absent = push(args.remote)
    except Exception as e:  # DVC's own errors (no remote, no credentials) as one line
        print(f"runcache: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    also = f" ({absent} named files are not in this cache: runs made elsewhere)" if absent else ""
    print(f"runcache: {records} run records and {files} files pushed{also}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
