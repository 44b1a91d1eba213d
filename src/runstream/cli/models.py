"""``runstream models serve | predict | generate-dockerfile``: parse, call ``runstream.serving``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runstream.config import Settings


def _options(args: argparse.Namespace, settings: Settings) -> Any:
    from runstream.serving.options import ServeOptions, parse_target

    return ServeOptions(
        targets=tuple(parse_target(raw) for raw in args.model_uri),
        host=args.host or settings.host,
        port=args.port,
        workers=args.workers,
        timeout_s=args.timeout,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        poll_s=args.poll,
        sticky_header=args.sticky_header,
        threads=args.threads,
        log_predictions=args.log_predictions,
    )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve one model (or several A/B arms) with MLflow's scoring protocol until interrupted."""
    options = _options(args, settings)
    if args.env_manager != "local":
        from runstream.serving.envs import reexec_in_env

        return reexec_in_env(args.env_manager, options, settings, sys.argv[1:])
    from runstream.serving.server import run

    run(options, settings)
    return 0


def cmd_predict(args: argparse.Namespace, settings: Settings) -> int:
    """Score a file (JSON in MLflow's request format, or CSV) with a model, print the answer."""
    from runstream.serving.predict import predict_file

    status, body = predict_file(args.model_uri, Path(args.input_path), args.content_type, settings)
    out = body.decode()
    if args.output_path:
        Path(args.output_path).write_text(out)
    else:
        print(out)
    return 0 if status == 200 else 2


def cmd_dockerfile(args: argparse.Namespace, settings: Settings) -> int:
    """Write a Docker build context that installs the model's requirements and serves it."""
    from runstream.serving.dockerfile import write_context

    folder = write_context(args.model_uri, Path(args.output_directory), settings, port=args.port)
    print(f"build context written to {folder} (docker build -t my-model {folder})")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``runstream models ...`` on the top-level parser."""
    models = sub.add_parser("models", help="serve, score and package MLflow models")
    msub = models.add_subparsers(dest="models_command", required=True)
    serve = msub.add_parser("serve", help="serve models with MLflow's scoring protocol")
    serve.add_argument(
        "-m", "--model-uri", action="append", required=True,
        help="a model URI, optionally =WEIGHT for A/B (repeat for several arms)",
    )
    serve.add_argument("-p", "--port", type=int, default=5001)
    serve.add_argument("--host", default=None, help="address to bind (default: the stack's host)")
    serve.add_argument("-w", "--workers", type=int, default=1)
    serve.add_argument("--env-manager", choices=["local", "virtualenv", "uv"], default="local")
    serve.add_argument("--timeout", type=float, default=60.0, help="predict timeout (s): 504")
    serve.add_argument("--max-body-mb", type=float, default=8.0, help="larger bodies: 413")
    serve.add_argument("--poll", type=float, default=2.0, help="registry check interval (s)")
    serve.add_argument("--threads", type=int, default=1,
                       help="predict threads per worker (more for a model that waits on I/O)")
    serve.add_argument("--sticky-header", default="X-Runstream-Route-Key")
    serve.add_argument(
        "--log-predictions", type=float, nargs="?", const=1.0, default=0.0, metavar="RATE",
        help="publish answered requests (a share RATE of them, default all) to the "
        "prediction log: the lake's predictions table",
    )
    serve.set_defaults(handler=cmd_serve)
    predict = msub.add_parser("predict", help="score a file with a model")
    predict.add_argument("-m", "--model-uri", required=True)
    predict.add_argument("-i", "--input-path", required=True)
    predict.add_argument("-o", "--output-path")
    predict.add_argument("-t", "--content-type", choices=["json", "csv"], default="json")
    predict.set_defaults(handler=cmd_predict)
    docker = msub.add_parser("generate-dockerfile", help="write a Docker build context")
    docker.add_argument("-m", "--model-uri", required=True)
    docker.add_argument("-d", "--output-directory", default="runstream-dockerfile")
    docker.add_argument("-p", "--port", type=int, default=8080)
    docker.set_defaults(handler=cmd_dockerfile)
