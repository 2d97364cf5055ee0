"""Command line: argument parsing only; the work is in build.build() and serve.serve()."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lmreport import __version__
from lmreport.build import BuildOptions, build
from lmreport.errors import BuildFailed, LmreportError, printable
from lmreport.models.runtime import DEVICES, DTYPES
from lmreport.source.course import COURSE_KEYS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lmreport",
        description="Build an offline teaching site from markdown lessons that run analyses on a language model.",
    )
    p.add_argument("--version", action="version", version=f"lmreport {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks and detailed logs")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    b = sub.add_parser(
        "build", help="build the site once", description="Run every lesson's analyses and write the site."
    )
    _build_arguments(b)
    b.add_argument("--lint-claims", action="store_true",
                   help="list the numbers of the prose that no claim checks (their sentences may not hold on "
                   "another model), each with a claim that would check it")
    exchange = b.add_mutually_exclusive_group()
    exchange.add_argument("--results-only", metavar="DIR", type=Path,
                          help="compute every result and write them into DIR (with DIR/models.json), not the site: "
                          "one job of a CI matrix")
    exchange.add_argument("--from-results", metavar="DIR", type=Path, nargs="+",
                          help="render the site from results folders written by --results-only, loading no model "
                          "(give the lessons folder before this option)")
    s = sub.add_parser(
        "serve",
        help="build, serve on localhost, rebuild on change",
        description="Build the site, serve it, and rebuild whenever a lesson changes.",
    )
    _build_arguments(s)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    i = sub.add_parser("init", help="start a new course in a folder",
                       description="Write a new course: lessons/course.yml, a first lesson, .gitignore, the pinned "
                       "requirements of this environment and a GitHub Actions workflow that installs them, builds "
                       "the site and publishes it on GitHub Pages.")
    i.add_argument("folder", type=Path, help="the new course's folder (new, or empty)")
    i.add_argument("--title", default="My lmreport course", help="the course's title")
    i.add_argument("--author", default="", help="who writes it")
    i.add_argument("--install", default=None, metavar="SPEC",
                   help="where the course's CI installs lmreport from, as a requirement line (default: "
                   "lmreport==this version; before lmreport is on PyPI: 'lmreport @ git+https://HOST/OWNER/"
                   "lmreport@TAG' or a wheel's path)")
    a = sub.add_parser("analyses", help="list the analyses and their options")
    a.add_argument("name", nargs="?", help="show one analysis in full")
    return p


def _build_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "lessons", nargs="?", default="lessons", type=Path, help="folder of markdown lessons (default: lessons/)"
    )
    p.add_argument(
        "-o",
        "--output",
        default=None,
        type=Path,
        help="folder to write the site into; replaced whole at the end of a good build (default: course.yml's "
        "'output', else site/)",
    )
    for key in ("title", "description", "author", "base_url", "extra", "playground"):
        metavar = {"base_url": "URL", "playground": "WEIGHTS"}.get(key, "TEXT")
        p.add_argument(f"--{key.replace('_', '-')}", dest=f"course_{key}", metavar=metavar,
                       help=f"course.yml's '{key}' for this build: {COURSE_KEYS[key]}")
    p.add_argument(
        "--model",
        action="append",
        help="model for lessons that name none: a Hugging Face id, a local folder, a .gguf "
        "file, or an embedded alias (smollm2, minilm). Given more than once: a model matrix, the first at the "
        "site's root and each other in a folder of its own, with comparison pages. Replaces course.yml's "
        "'models'. Default: course.yml's 'models', else the embedded SmolLM2-135M-Instruct",
    )
    p.add_argument("--strict", action="store_true", help="treat warnings (unknown front matter keys...) as errors")
    p.add_argument(
        "--no-cache", action="store_true", help="recompute every analysis, ignoring and not writing the cache"
    )
    p.add_argument(
        "--cache-dir", default=".lmreport-cache", type=Path, help="where results are cached (default: .lmreport-cache/)"
    )
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where models run: auto (a GPU if there is one), cpu, cuda or mps (default: auto)")
    p.add_argument("--dtype", choices=DTYPES, default="float32",
                   help="precision of the models' weights (default: float32); results are kept apart per dtype")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: only on a terminal)",
    )
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks and detailed logs"
    )


def build_options(args: argparse.Namespace) -> BuildOptions:
    return BuildOptions(
        lessons_dir=args.lessons,
        site_dir=args.output,
        model=args.model[0] if args.model and len(args.model) == 1 else None,
        models=tuple(args.model) if args.model and len(args.model) > 1 else (),
        strict=args.strict,
        lint_claims=getattr(args, "lint_claims", False),
        use_cache=not args.no_cache,
        cache_dir=args.cache_dir,
        progress=args.progress,
        device=args.device,
        dtype=args.dtype,
        course={key[len("course_"):]: value for key, value in vars(args).items()
                if key.startswith("course_") and value is not None},
        results_only=getattr(args, "results_only", None),
        from_results=tuple(getattr(args, "from_results", None) or ()),
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, format="%(levelname)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_PrintableFormatter(handler.formatter._fmt if handler.formatter else None))
    for noisy in ("transformers", "huggingface_hub", "urllib3", "filelock", "bokeh", "onnxscript", "onnx_ir",
                  "torch.onnx"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.debug else logging.ERROR)
    try:
        if args.command == "build":
            summary = build(build_options(args))
            print(printable(summary.line()))
        elif args.command == "serve":
            from lmreport.serve import serve

            serve(build_options(args), args.host, args.port)
        elif args.command == "init":
            from lmreport.scaffold import init

            for path in init(args.folder, args.title, args.author, args.install):
                print(f"wrote {printable(path.as_posix())}")
            folder = printable(str(args.folder))
            index = (Path(args.folder).resolve() / "site" / "index.html").as_uri()
            print(f"next: cd {folder} && lmreport build, then open {printable(index)} in a browser (or run "
                  "lmreport serve); push to GitHub and set Settings > Pages > Source to 'GitHub Actions' to publish")
        elif args.command == "analyses":
            print(describe_analyses(args.name))
        return 0
    except BuildFailed as e:
        print(str(e), file=sys.stderr)
        return 1
    except LmreportError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the previous site was left as it was", file=sys.stderr)
        return 130


class _PrintableFormatter(logging.Formatter):
    """Log lines name files, models and tokens a user typed: escape what a terminal would act on."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), keep_newlines=True)


def describe_analyses(name: str | None) -> str:
    from lmreport import analyses
    from lmreport.analyses.options import COMMON_OPTIONS
    from lmreport.glue.evaluate import parameters

    chosen = [analyses.get(name)] if name else list(analyses.REGISTRY.values())
    lines = []
    for a in chosen:
        lines.append(f"{a.name}: {a.summary}")
        for o in list(a.options) + list(COMMON_OPTIONS.values()):
            default = "required" if o.required else f"default {o.default!r}"
            limits = f"; {o.limits()}" if o.limits() else ""
            lines.append(f"    {o.name} ({o.type.__name__}, {default}{limits}): {o.help}")
        for value_name, function in sorted(a.values.items()):
            args = parameters(function)
            lines.append(f"    ={{id}}.{value_name}{f'({args})' if args else ''}: {(function.__doc__ or '').strip()}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
