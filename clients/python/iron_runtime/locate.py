"""Finds the `iron` command and the Node.js that runs it, or says exactly what to install."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

from .errors import IronNotFound

#: The oldest Node.js Iron Cage runs on (package.json ``engines.node``; core/cli/bin.ts checks the same).
MINIMUM_NODE = (22, 17)
INSTALL_NODE = "Install Node.js 24 LTS (https://nodejs.org, or `nvm install 24`), or set IRON_NODE to a newer node"
INSTALL_IRON = (
    "Install Iron Cage in your project (`npm install /path/to/iron-cage`, which links node_modules/.bin/iron), "
    "or pass Runtime(iron='/path/to/iron') or set IRON_BIN"
)
_SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts")
_node_versions: Dict[str, Tuple[int, ...]] = {}

PathLike = Union[str, "os.PathLike[str]"]


def iron_command(explicit: Optional[PathLike] = None) -> List[str]:
    """The command line that runs `iron`: ``[node, script]`` for the npm-installed script, else ``[executable]``.

    Looked for in order: `explicit`, ``$IRON_BIN``, ``node_modules/.bin/iron`` in the working folder and its parents,
    the same above this package (and an Iron Cage checkout holding it, whose ``dist/core/cli/bin.js`` is used), PATH.
    """
    iron = find_iron(explicit)
    if not _is_node_script(iron):
        if not os.access(iron, os.X_OK):
            raise IronNotFound(f"{iron} is neither a Node.js script nor executable. {INSTALL_IRON}")
        return [str(iron)]
    # The version is checked by iron itself (it stops at once on an old Node.js); explain_start_failure says why.
    return [find_node(iron), str(iron)]


def explain_start_failure(command: List[str]) -> None:
    """After `command` ended before it answered: raises IronNotFound naming an old Node.js when that was the reason."""
    if len(command) == 2:
        check_node(command[0])


def find_iron(explicit: Optional[PathLike] = None) -> Path:
    for given, source in ((explicit, "Runtime(iron=…)"), (os.environ.get("IRON_BIN") or None, "IRON_BIN")):
        if given is not None:
            path = Path(os.fspath(given)).expanduser().absolute()
            if not path.is_file():
                raise IronNotFound(f"{source} names {path}, which is not a file. {INSTALL_IRON}")
            return path
    for candidate in _candidates():
        if candidate.is_file():
            return candidate
    on_path = shutil.which("iron")
    if on_path:
        return Path(on_path)
    raise IronNotFound(
        f"Iron Cage's `iron` command was not found (looked at IRON_BIN, node_modules/.bin/iron above {Path.cwd()} and "
        f"above {Path(__file__).parent}, an Iron Cage checkout holding this package, and PATH). {INSTALL_IRON}"
    )


def _candidates() -> Iterator[Path]:
    for folder in _up(Path.cwd()):
        yield folder / "node_modules" / ".bin" / "iron"
    for folder in _up(Path(__file__).resolve().parent):
        yield folder / "node_modules" / ".bin" / "iron"
        if _is_iron_cage_checkout(folder):
            # Built by `npm ci` (or `npm run build`) in the checkout.
            yield folder / "dist" / "core" / "cli" / "bin.js"


def _up(folder: Path) -> Iterator[Path]:
    yield folder
    yield from folder.parents


def _is_iron_cage_checkout(folder: Path) -> bool:
    try:
        return json.loads((folder / "package.json").read_text(encoding="utf-8")).get("name") == "iron-cage"
    except (OSError, ValueError, AttributeError):
        return False


def _is_node_script(path: Path) -> bool:
    if path.suffix in _SCRIPT_SUFFIXES:
        return True
    try:
        with open(path, "rb") as file:
            first = file.readline(256)
    except OSError:
        return False
    return first.startswith(b"#!") and b"node" in first


def find_node(script: Path) -> str:
    """``$IRON_NODE``, else a node beside the script or in a ``node_modules/.bin`` above it (a project that pins its
    Node.js, as npm scripts would use), else ``node`` on PATH."""
    given = os.environ.get("IRON_NODE")
    if given:
        if not Path(given).is_file():
            raise IronNotFound(f"IRON_NODE names {given}, which is not a file. {INSTALL_NODE}")
        return given
    folder = script.parent
    for candidate in [folder / "node", *(up / "node_modules" / ".bin" / "node" for up in _up(folder))]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which("node")
    if on_path:
        return on_path
    raise IronNotFound(f"Node.js is not installed (no `node` on PATH), and iron ({script}) runs on it. {INSTALL_NODE}")


def check_node(node: str) -> None:
    """Raises IronNotFound unless `node` is Node.js ≥ 22.17 (asked once per path)."""
    version = _node_versions.get(node)
    if version is None:
        try:
            answer = subprocess.run([node, "-p", "process.versions.node"], capture_output=True, text=True, timeout=30)
            version = tuple(int(part) for part in answer.stdout.strip().split(".")[:2])
            if answer.returncode != 0 or len(version) != 2:
                raise ValueError(answer.stderr.strip() or answer.stdout.strip())
        except (OSError, ValueError, subprocess.SubprocessError) as error:
            raise IronNotFound(f"{node} did not run as Node.js ({error}). {INSTALL_NODE}") from error
        _node_versions[node] = version
    if version < MINIMUM_NODE:
        raise IronNotFound(
            f"iron needs Node.js {'.'.join(map(str, MINIMUM_NODE))} or newer; {node} is Node.js "
            f"{'.'.join(map(str, version))}. {INSTALL_NODE}"
        )
