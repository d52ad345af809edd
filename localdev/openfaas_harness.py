"""A faithful stand-in for OpenFaaS's ``python3-http`` template, to run an assembled handler folder locally.

The request/response logic below is the template's ``index.py`` (openfaas/python-flask-template,
``template/python3-http/index.py``) with only the server start replaced: ``Event`` (``body=request.get_data()``,
Werkzeug ``headers``, ``method``, ``query=request.args``, ``path``), ``Context`` (``hostname``), routes ``/`` and
``/<path:path>`` for GET/PUT/POST/PATCH/DELETE, and the template's response formatting (``None`` → ``('', 200)``;
a dict → ``statusCode`` (default 200), ``body`` (missing → ``""``, dict → ``jsonify``, anything else → ``str``),
``headers`` (dict → list of pairs); any other value returned to Flask as is).

The image layout is reproduced too: the handler folder becomes the package ``function`` (the template touches
``function/__init__.py`` before copying the folder over it) next to the template's ``index.py``, and the function's
own requirements live in a separate site directory (``site.addsitedir("/home/app/python")`` in the template).

Run it as a script in a clean interpreter so that nothing of this project leaks in::

    python -I -S localdev/openfaas_harness.py --image DIR --site FLASK_SITE --site DEPS_SITE --requests REQ.json

``REQ.json`` is a list of ``{"method", "path", "headers", "query", "body"}``; the answers are printed as a JSON
list of ``{"status", "headers", "body"}``. Only the standard library is imported at module level.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import site
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

FLASK_DISTRIBUTIONS = ("flask", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker")


def assemble_image(handler_dir: Path, image_dir: Path) -> Path:
    """Lay out ``image_dir`` like the template's image: ``function/`` = the handler folder (+ ``__init__.py``)."""
    function_dir = image_dir / "function"
    function_dir.mkdir(parents=True, exist_ok=True)
    (function_dir / "__init__.py").touch()  # RUN touch ./function/__init__.py
    shutil.copytree(handler_dir, function_dir, dirs_exist_ok=True)  # COPY function/ .
    return image_dir


def flask_site(dest: Path) -> Path:
    """A site directory holding only Flask and its dependencies (the template's global requirements.txt)."""
    import importlib.metadata

    dest.mkdir(parents=True, exist_ok=True)
    for name in FLASK_DISTRIBUTIONS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError as err:
            raise RuntimeError(f"{name} is not installed (pip install flask)") from err
        # top-level entries of the distribution: its packages/modules and its .dist-info (Flask reads versions)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            source = Path(str(dist.locate_file(top)))
            link = dest / top
            if source.exists() and not link.exists() and top != "__pycache__":
                link.symlink_to(source, target_is_directory=source.is_dir())
    return dest


def create_app(handler: ModuleType) -> Any:
    """The template's Flask application around ``handler.handle`` (logic copied from its index.py)."""
    # One function on purpose: it is the template's index.py nearly verbatim, to be compared with it line by line.
    from flask import Flask, jsonify, request

    app = Flask(__name__)

    class Event:
        def __init__(self) -> None:
            self.body = request.get_data()
            self.headers = request.headers
            self.method = request.method
            self.query = request.args
            self.path = request.path

    class Context:
        def __init__(self) -> None:
            self.hostname = os.getenv("HOSTNAME", "localhost")

    def format_status_code(resp: dict[str, Any]) -> Any:
        if "statusCode" in resp:
            return resp["statusCode"]
        return 200

    def format_body(resp: dict[str, Any]) -> Any:
        if "body" not in resp:
            return ""
        elif type(resp["body"]) is dict:
            return jsonify(resp["body"])
        else:
            return str(resp["body"])

    def format_headers(resp: dict[str, Any]) -> Any:
        if "headers" not in resp:
            return []
        elif type(resp["headers"]) is dict:
            headers = []
            for key in resp["headers"]:
                header_tuple = (key, resp["headers"][key])
                headers.append(header_tuple)
            return headers
        return resp["headers"]

    def format_response(resp: Any) -> Any:
        if resp is None:
            return ("", 200)
        if type(resp) is dict:
            status_code = format_status_code(resp)
            body = format_body(resp)
            headers = format_headers(resp)
            return (body, status_code, headers)
        return resp

    @app.route("/", defaults={"path": ""}, methods=["GET", "PUT", "POST", "PATCH", "DELETE"])
    @app.route("/<path:path>", methods=["GET", "PUT", "POST", "PATCH", "DELETE"])
    def call_handler(path: str) -> Any:
        event = Event()
        context = Context()
        response_data = handler.handle(event, context)
        resp = format_response(response_data)
        return resp

    return app


def load_handler(image_dir: Path, sites: list[Path]) -> ModuleType:
    """Import ``function.handler`` the way the template's ``index.py`` does, from ``image_dir``."""
    for directory in sites:
        site.addsitedir(str(directory))
    sys.path.insert(0, str(image_dir))  # `python index.py` in /home/app: the script's directory comes first
    return importlib.import_module("function.handler")


def run_requests(app: Any, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    client = app.test_client()
    answers = []
    for req in requests:
        body = req.get("body")
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else (body or "").encode()
        resp = client.open(
            req.get("path", "/"),
            method=req.get("method", "GET"),
            headers=req.get("headers") or {},
            query_string=req.get("query") or {},
            data=data,
        )
        answers.append(
            {
                "status": resp.status_code,
                "headers": dict(resp.headers),
                "body": resp.get_data(as_text=True),
            }
        )
    return answers


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--image", type=Path, required=True, help="directory laid out by assemble_image()")
    p.add_argument("--site", type=Path, action="append", default=[], help="site directory (repeatable)")
    p.add_argument("--requests", type=Path, required=True, help="JSON list of requests")
    args = p.parse_args(argv)
    handler = load_handler(args.image, args.site)
    app = create_app(handler)
    answers = run_requests(app, json.loads(args.requests.read_text(encoding="utf-8")))
    sys.stdout.write("\n" + json.dumps({"answers": answers, "modules": module_origins()}) + "\n")
    return 0


def module_origins() -> dict[str, str]:
    """Where the project's and its dependencies' top-level modules were imported from (isolation check)."""
    out = {}
    for name in ("function", "functions", "shared", "pydantic", "pydantic_core", "structlog", "flask"):
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None) if module else None
        if origin:
            out[name] = origin
    return out


if __name__ == "__main__":
    raise SystemExit(main())
