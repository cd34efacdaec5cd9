"""`python -m local_aws up | down | status | env | serve | complete-job | demo | evaluate-demo`.

Every failure is one message on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from local_aws import client_env, daemon, settings


def configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per HTTP request drowns the Lambda output the log is read for.
    logging.getLogger("werkzeug").setLevel(logging.INFO if verbose else logging.WARNING)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def cmd_up(args: argparse.Namespace) -> int:
    state, started = daemon.start(port=args.port)
    verb = "started" if started else "already running"
    print(
        f"local_aws emulator {verb} at {state.endpoint} (pid {state.pid}); log: {_relative(Path(state.log))}"
    )
    python = _relative(Path(sys.executable)) if Path(sys.executable).is_relative_to(Path.cwd()) else "python"
    print(f'Point the AWS CLI, boto3 and the CDK at it with:  eval "$({python} -m local_aws env)"')
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    state = daemon.stop()
    print(f"local_aws emulator stopped (pid {state.pid})" if state else "local_aws emulator was not running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = daemon.running()
    if state is None:
        print("local_aws emulator is not running (start it with `make local-up`)")
        return 1
    print(
        f"local_aws emulator running at {state.endpoint} (pid {state.pid}); log: {_relative(Path(state.log))}"
    )
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    state = daemon.running()
    if state is None:
        raise daemon.EmulatorError("No local_aws emulator is running; start one with `make local-up`.")
    sys.stdout.write(client_env.export_lines(state.endpoint))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from local_aws.server import Emulator  # imports moto: only the serving process pays for it

    configure_logging(args.verbose)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    # Unzipped function code lives here while the emulator runs; a previous run's is stale.
    work = settings.state_dir() / "work"
    shutil.rmtree(work, ignore_errors=True)
    emulator = Emulator(args.port, workdir=work).start()
    state = daemon.EmulatorState(
        pid=os.getpid(), port=emulator.port, endpoint=emulator.endpoint, log=str(settings.log_file())
    )
    state.write(settings.state_file())
    try:
        stop.wait()
    finally:
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)
        current = daemon.read_state()
        if current and current.pid == state.pid:
            settings.state_file().unlink(missing_ok=True)
        logging.getLogger("local_aws").info("local_aws emulator stopped")
    return 0


def cmd_complete_job(args: argparse.Namespace) -> int:
    """Nothing trains offline: this is how an emulated job finishes (and Bedrock's event is sent)."""
    import json
    import urllib.error
    import urllib.request

    state = daemon.running()
    if state is None:
        raise daemon.EmulatorError("No local_aws emulator is running; start one with `make local-up`.")
    request = urllib.request.Request(
        state.endpoint + settings.COMPLETE_JOB_PATH,
        data=json.dumps({"jobIdentifier": args.job}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            job = json.loads(response.read())
    except urllib.error.HTTPError as error:
        reason = json.loads(error.read() or b"{}").get("message") or error.reason
        raise daemon.EmulatorError(f"could not complete {args.job}: {reason}") from None
    print(
        f"{job['jobName']} is {job['status']}; output model {job['outputModelArn']}; "
        "the Model Customization Job State Change event is on the default bus"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from local_aws.demo import run_demo

    return run_demo(stacks=args.stacks, port=args.port, open_weight=args.open_weight)


def cmd_evaluate_demo(args: argparse.Namespace) -> int:
    from local_aws.evaluate_demo import run_evaluate_demo

    return run_evaluate_demo(port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_aws",
        description="A local AWS emulator (moto + a Docker-free Lambda executor) for offline cdk deploys.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start the emulator in the background")
    up.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    up.set_defaults(func=cmd_up)

    sub.add_parser("down", help="stop the background emulator").set_defaults(func=cmd_down)
    sub.add_parser("status", help="say whether the emulator runs, and where").set_defaults(func=cmd_status)
    sub.add_parser("env", help="print the export lines that point AWS clients at it").set_defaults(
        func=cmd_env
    )

    serve = sub.add_parser("serve", help="run the emulator in the foreground (what `up` starts)")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--verbose", action="store_true", help="log every HTTP request")
    serve.set_defaults(func=cmd_serve)

    complete = sub.add_parser(
        "complete-job",
        help="mark an emulated customization job Completed (with an output model) and send Bedrock's event",
    )
    complete.add_argument("job", help="the job's name or ARN")
    complete.set_defaults(func=cmd_complete_job)

    demo = sub.add_parser("demo", help="bootstrap, deploy, invoke, diff, update and destroy, offline")
    demo.add_argument(
        "--stacks",
        nargs="+",
        default=["GsmRftStack"],
        help="stack names, one after the other (default GsmRftStack); commas also separate",
    )
    demo.add_argument("--port", type=int, default=0, help="port of the demo's own emulator (default: free)")
    demo.add_argument(
        "--no-open-weight",
        dest="open_weight",
        action="store_false",
        help="skip the second, open-weight cycle of GsmRftStack (openai.gpt-oss-20b in us-west-2)",
    )
    demo.set_defaults(func=cmd_demo)

    evaluate = sub.add_parser(
        "evaluate-demo",
        help="rft evaluate gsm8k against two replayed models (recorded outputs, not live) and check the labels",
    )
    evaluate.add_argument("--port", type=int, default=0, help="port of its own emulator (default: free)")
    evaluate.set_defaults(func=cmd_evaluate_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except daemon.EmulatorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
