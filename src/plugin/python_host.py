"""albench's host for a Python query plug-in (started by src/plugin/python.ts; not a public API).

Usage: python3 python_host.py MODULE.py

The host imports the plug-in once, answers with its description, then serves `select` requests until its
standard input closes. Each request runs in a child forked from the host, in a fresh temporary working folder
that is removed afterwards, so no state (globals, files in the working folder) survives from one call to the next,
and a crash, `sys.exit` or `os._exit` in the plug-in fails that call only.

The protocol travels on the host's original standard input and output, duplicated before the plug-in is imported;
file descriptor 1 is then pointed at standard error and 0 at /dev/null, so `print` in the plug-in (even from C
code) never reaches the protocol. A frame is a 4-byte little-endian header length, a UTF-8 JSON header, then the
raw bytes of the arrays the header lists in `blobs` ({"key", "dtype", "shape"}), in order: arrays cross as bytes
and are read with numpy.frombuffer, never as text.
"""

import json
import os
import signal
import struct
import sys
import tempfile
import threading
import queue
import traceback
import shutil
import importlib.util

PROTO_IN = os.fdopen(os.dup(0), "rb", buffering=0)
PROTO_OUT = os.fdopen(os.dup(1), "wb", buffering=0)
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)
os.dup2(2, 1)
sys.stdin = open(os.devnull, "r")

OUTPUTS = ("probs", "features")
OPTION_KEYS = {"type", "default", "minimum", "maximum", "enum", "description"}
OPTION_TYPES = {"number", "integer", "boolean", "string"}
TRACEBACK_LINES = 12


def read_exact(stream, n):
    chunks = []
    while n > 0:
        b = stream.read(n)
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def read_into(stream, n):
    """n bytes into a new (writable) bytearray, or None at the end of the stream."""
    buf = bytearray(n)
    view = memoryview(buf)
    off = 0
    while off < n:
        got = stream.readinto(view[off:])
        if not got:
            return None
        off += got
    return buf


def read_frame(stream):
    head = read_exact(stream, 4)
    if head is None:
        return None
    (size,) = struct.unpack("<I", head)
    text = read_exact(stream, size)
    if text is None:
        return None
    header = json.loads(text.decode("utf-8"))
    blobs = {}
    for blob in header.get("blobs", []):
        if "file" in blob:
            blobs[blob["key"]] = blob  # an array albench left in a shared-memory file (mapped by map_files)
            continue
        data = read_into(stream, blob["bytes"])
        if data is None:
            return None
        blobs[blob["key"]] = data
    return header, blobs


EXCHANGE_FILES = set()


def map_files(blobs):
    """Maps the arrays albench left in its exchange files (copy-on-write: writable, never written back). The
    files stay for the next call; the host removes them when albench goes away (see reader)."""
    import mmap

    for key, blob in list(blobs.items()):
        if isinstance(blob, dict):
            EXCHANGE_FILES.add(blob["file"])
            if blob["bytes"] == 0:
                blobs[key] = bytearray()
                continue
            with open(blob["file"], "rb") as f:
                blobs[key] = mmap.mmap(f.fileno(), blob["bytes"], access=mmap.ACCESS_COPY)


def write_frame(stream, header, blobs=()):
    """blobs: (key, bytes-like) pairs, announced in the header in order."""
    header = dict(header)
    header["blobs"] = [{"key": k, "bytes": len(b)} for k, b in blobs]
    text = json.dumps(header, allow_nan=False).encode("utf-8")
    stream.write(struct.pack("<I", len(text)) + text)
    for _, b in blobs:
        view = memoryview(b).cast("B")
        off = 0
        while off < len(view):
            off += stream.write(view[off:])


HOST_FILE = os.path.abspath(__file__)


def error_header(phase, exc):
    # The plug-in's own frames: the host's and the import machinery's say nothing to its author.
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__)
        if os.path.abspath(f.filename) != HOST_FILE and not f.filename.startswith("<frozen")
    ]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    text = "".join(lines).rstrip().splitlines()
    message = str(exc) or type(exc).__name__
    if isinstance(exc, ModuleNotFoundError):
        message += (
            f" (the plug-in imports a package that the Python albench started, {sys.executable}, does not have: "
            "install it there, or set ALBENCH_PYTHON to a Python that has it)"
        )
    return {
        "ok": False,
        "phase": phase,
        "type": type(exc).__name__,
        "message": message,
        "traceback": "\n".join(text[-TRACEBACK_LINES:]),
    }


class PluginError(Exception):
    """A plug-in that breaks the contract (a message for the user, no traceback of the host)."""


def load(path):
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("albench_plugin", path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules["albench_plugin"] = module
    spec.loader.exec_module(module)
    return module


def describe(module, path):
    select = getattr(module, "select", None)
    if not callable(select):
        names = sorted(n for n in vars(module) if not n.startswith("_"))
        raise PluginError(
            "it defines no function select(unlabelled, budget, *, labelled=None, seed=0, options=None); "
            f"it defines {', '.join(names) or 'nothing'}"
        )
    needs = getattr(module, "NEEDS", None)
    if needs is None:
        needs = list(OUTPUTS)
    if not isinstance(needs, (list, tuple)) or not all(isinstance(n, str) for n in needs):
        raise PluginError(f"NEEDS must be a list of strings such as [\"probs\"]; got {needs!r}")
    for n in needs:
        if n not in OUTPUTS and n != "labelled":
            raise PluginError(
                f"NEEDS names {n!r}; the model outputs are \"probs\" and \"features\" (and \"labelled\" asks "
                "for the labelled set's outputs)"
            )
    options = getattr(module, "OPTIONS", None)
    schema = None
    if options is not None:
        if not isinstance(options, dict):
            raise PluginError(f"OPTIONS must be a dict of option name -> spec; got {type(options).__name__}")
        schema = {}
        for key, spec in options.items():
            where = f"OPTIONS[{key!r}]"
            if not isinstance(key, str) or not isinstance(spec, dict):
                raise PluginError(f"{where} must map a name to a dict such as {{\"type\": \"integer\", ...}}")
            unknown = sorted(set(spec) - OPTION_KEYS)
            if unknown:
                raise PluginError(
                    f"{where} has unknown keys {', '.join(map(repr, unknown))}; the keys are "
                    f"{', '.join(sorted(OPTION_KEYS))}"
                )
            if spec.get("type") not in OPTION_TYPES:
                raise PluginError(
                    f"{where}['type'] is {spec.get('type')!r}; it must be one of {', '.join(sorted(OPTION_TYPES))}"
                )
            out = {"type": spec["type"], "description": str(spec.get("description", ""))}
            for src, dst in (("minimum", "min"), ("maximum", "max"), ("default", "default"), ("enum", "values")):
                if src in spec:
                    out[dst] = spec[src]
            schema[key] = out
    name = getattr(module, "NAME", None)
    if name is None:
        name = os.path.splitext(os.path.basename(path))[0]
    if not isinstance(name, str) or not name:
        raise PluginError(f"NAME must be a non-empty string; got {name!r}")
    doc = (module.__doc__ or "").strip()
    return {
        "ok": True,
        "name": name,
        "doc": doc,
        "needs": [n for n in needs if n in OUTPUTS],
        "needsLabelled": "labelled" in needs,
        **({"optionSchema": schema} if schema is not None else {}),
    }


class View:
    """The model's outputs for a set of samples: ids (list of str), probs (N, C) and features (N, d) float32
    arrays, or None for an output the plug-in does not declare in NEEDS."""

    __slots__ = ("ids", "probs", "features")

    def __init__(self, ids, probs, features):
        self.ids = ids
        self.probs = probs
        self.features = features

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        shape = lambda a: None if a is None else tuple(a.shape)
        return f"View(n={len(self.ids)}, probs={shape(self.probs)}, features={shape(self.features)})"


def view_of(np, spec, blobs, prefix):
    if spec is None:
        return None
    n = len(spec["ids"])
    arrays = {}
    for key in OUTPUTS:
        raw = blobs.get(f"{prefix}.{key}")
        if raw is None:
            arrays[key] = None
        else:
            width = spec["widths"][key]
            arr = np.frombuffer(raw, dtype="<f4").reshape(n, width)
            arrays[key] = arr
    return View(list(spec["ids"]), arrays["probs"], arrays["features"])


def check_selected(np, value):
    """The ids a select returned, as a list of str, or a PluginError saying what is wrong with them."""
    hint = "return a list of id strings, e.g. [unlabelled.ids[i] for i in order[:budget]]"
    if value is None:
        raise PluginError(f"select returned None; {hint}")
    if np is not None and isinstance(value, np.ndarray):
        raise PluginError(
            f"select returned a numpy array ({value.dtype}, shape {value.shape}); {hint} (or call .tolist() on "
            "an array of ids)"
        )
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise PluginError(f"select returned a {type(value).__name__}; {hint}")
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise PluginError(
                f"select returned {type(v).__name__} {v!r} at position {i}; ids are strings from "
                f"unlabelled.ids ({hint})"
            )
    return [str(v) for v in value]


def run_select(module, header, blobs):
    """Runs in the forked child: returns the result frame's header and blobs."""
    import numpy as np
    unlabelled = view_of(np, header["unlabelled"], blobs, "unlabelled")
    labelled = view_of(np, header.get("labelled"), blobs, "labelled")
    result = module.select(
        unlabelled,
        header["budget"],
        labelled=labelled,
        seed=header["seed"],
        options=dict(header["options"]),
    )
    scores = None
    if isinstance(result, dict):
        extra = sorted(set(result) - {"selected", "scores"})
        if extra:
            raise PluginError(f"select returned a dict with keys {extra}; it may hold only 'selected' and 'scores'")
        if "selected" not in result:
            raise PluginError("select returned a dict without 'selected'")
        selected = check_selected(np, result["selected"])
        if result.get("scores") is not None:
            try:
                scores = np.asarray(result["scores"], dtype="<f8").reshape(-1)
            except (TypeError, ValueError) as exc:
                raise PluginError(f"select's 'scores' are not numbers: {exc}") from exc
            if scores.shape[0] != len(unlabelled.ids):
                raise PluginError(
                    f"select's 'scores' have {scores.shape[0]} values; give one per unlabelled sample "
                    f"({len(unlabelled.ids)}), in the order of unlabelled.ids"
                )
    else:
        selected = check_selected(np, result)
    return {"ok": True, "selected": selected}, ([("scores", scores.tobytes())] if scores is not None else [])


def child_main(module, header, blobs, result_fd):
    out = os.fdopen(result_fd, "wb", buffering=0)
    try:
        try:
            reply, reply_blobs = run_select(module, header, blobs)
        except PluginError as exc:
            reply, reply_blobs = {"ok": False, "phase": "select", "type": "", "message": str(exc)}, []
        except BaseException as exc:  # SystemExit and KeyboardInterrupt are the plug-in's failure too
            reply, reply_blobs = error_header("select", exc), []
        write_frame(out, reply, reply_blobs)
        out.close()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(0)


def die_with_parent():
    """Linux: the child gets SIGKILL when the host dies, so a plug-in stuck in a loop never outlives its run."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def describe_exit(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        why = " (killed, often for lack of memory)" if sig == signal.SIGKILL else ""
        return f"the plug-in's process was ended by signal {name}{why} during select"
    return f"the plug-in's process exited with code {os.WEXITSTATUS(status)} during select, without an answer"


CURRENT = {"child": None}


def reader(requests):
    """Reads requests; when albench closes the pipe (a stop, a time limit), ends a running call and the host."""
    try:
        while True:
            frame = read_frame(PROTO_IN)
            if frame is None:
                break
            requests.put(frame)
    except Exception:
        pass
    child = CURRENT["child"]
    if child is not None:
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass
    for path in list(EXCHANGE_FILES):
        try:
            os.unlink(path)
        except OSError:
            pass
    os._exit(0)


def serve(module):
    requests = queue.Queue()
    threading.Thread(target=reader, args=(requests,), daemon=True).start()
    while True:
        header, blobs = requests.get()
        try:
            map_files(blobs)
        except OSError as exc:
            write_frame(PROTO_OUT, {"ok": False, "phase": "select", "type": "", "message": f"the input arrays could not be read: {exc}"})
            continue
        workdir = tempfile.mkdtemp(prefix="albench-query-")
        r, w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            die_with_parent()
            os.chdir(workdir)
            child_main(module, header, blobs, w)
        os.close(w)
        CURRENT["child"] = pid
        with os.fdopen(r, "rb", buffering=0) as answer:
            data = answer.read()
        _, status = os.waitpid(pid, 0)
        CURRENT["child"] = None
        shutil.rmtree(workdir, ignore_errors=True)
        if data and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            PROTO_OUT.write(data)  # the child's whole frame, as it wrote it
        else:
            write_frame(PROTO_OUT, {"ok": False, "phase": "select", "type": "", "message": describe_exit(status)})


def main():
    if sys.version_info < (3, 8):
        write_frame(PROTO_OUT, {"ok": False, "phase": "load", "type": "", "message": "albench needs Python 3.8 or later"})
        return
    path = sys.argv[1]
    home = tempfile.mkdtemp(prefix="albench-query-")
    os.chdir(home)
    try:
        try:
            try:
                import numpy  # noqa: F401  (the bridge hands arrays over as NumPy arrays)
            except ImportError:
                raise PluginError(
                    f"the Python at {sys.executable} (Python {sys.version.split()[0]}) has no NumPy, which albench "
                    "needs to hand a plug-in its arrays: install it (apt-get install python3-numpy, or pip install "
                    "numpy) or set ALBENCH_PYTHON to a Python that has it"
                ) from None
            module = load(path)
            reply = describe(module, path)
        except PluginError as exc:
            reply = {"ok": False, "phase": "load", "type": "", "message": str(exc)}
        except BaseException as exc:
            reply = error_header("load", exc)
    finally:
        os.chdir("/")
        shutil.rmtree(home, ignore_errors=True)
    write_frame(PROTO_OUT, reply)
    if reply["ok"]:
        serve(module)


if __name__ == "__main__":
    main()
