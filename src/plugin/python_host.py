"""albench's host for a Python query plug-in (started by src/plugin/python.ts; not a public API).

Usage: python3 python_host.py MODULE.py [FOLDER]

The host imports the plug-in once, answers with its description, then serves `select` requests until its
standard input closes. FOLDER (made by albench, else a new temporary folder) holds the files albench hands arrays
over in and each call's working folder; the host removes it when it ends.

Each request runs in a child forked from the host, in a process group of its own and a fresh working folder. The
host reads exactly one answer from the child, then kills the group (so processes the plug-in started end with the
call) and removes the folder: no state (globals, files in the working folder, subprocesses) survives from one call
to the next, and a crash, `sys.exit` or `os._exit` in the plug-in fails that call only.

The protocol travels on the host's original standard input and output, duplicated before the plug-in is imported
and closed in the children; file descriptor 1 is then pointed at standard error and 0 at /dev/null, so `print` in
the plug-in (even from C code) never reaches the protocol. A frame is a 4-byte little-endian header length, a
UTF-8 JSON header, then the raw bytes of the arrays the header lists in `blobs` ({"key", "bytes"}, or {"key",
"file", "bytes"} for an array left in a file), in order: arrays cross as bytes, never as text.
"""

# Everything the host uses is imported before the plug-in's folder joins sys.path, so a plug-in file named like a
# standard module (mmap.py, queue.py) cannot replace the host's own.
import importlib.util
import json
import math
import mmap
import os
import queue
import select as selectmod
import shutil
import signal
import struct
import sys
import tempfile
import threading
import traceback
import warnings

# The host forks while its reader thread runs; the child only runs the plug-in and exits (Python 3.12+ warns).
warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)

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
MAX_HEADER_BYTES = 1 << 30
HOST_FILE = os.path.abspath(__file__)

# What the reader thread must clean up when albench goes away: the running call's process group and the folder.
STATE = {"child": None, "root": None}


class PluginError(Exception):
    """A plug-in that breaks the contract (a message for the user, no traceback of the host)."""


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
    head = read_into(stream, 4)
    if head is None:
        return None
    (size,) = struct.unpack("<I", head)
    text = read_into(stream, size)
    if text is None:
        return None
    header = json.loads(text.decode("utf-8"))
    blobs = {}
    for blob in header.get("blobs", []):
        if "file" in blob:
            blobs[blob["key"]] = blob  # an array albench left in a file (mapped by map_files)
            continue
        data = read_into(stream, blob["bytes"])
        if data is None:
            return None
        blobs[blob["key"]] = data
    return header, blobs


def frame_size(buf):
    """The length of the complete frame at the start of buf, None while it is incomplete; ValueError when what
    is there is not a frame."""
    if len(buf) < 4:
        return None
    (size,) = struct.unpack("<I", bytes(buf[:4]))
    if size > MAX_HEADER_BYTES:
        raise ValueError(f"a header of {size} bytes")
    if len(buf) < 4 + size:
        return None
    header = json.loads(bytes(buf[4 : 4 + size]).decode("utf-8"))
    if not isinstance(header, dict) or not isinstance(header.get("blobs", []), list):
        raise ValueError("a header that is not an answer")
    total = 4 + size
    for blob in header.get("blobs", []):
        nbytes = blob.get("bytes") if isinstance(blob, dict) else None
        if not isinstance(nbytes, int) or nbytes < 0:
            raise ValueError("an array of no size")
        total += nbytes
    return total if len(buf) >= total else None


def map_files(blobs):
    """Maps the arrays albench left in files (copy-on-write: writable, never written back)."""
    for key, blob in list(blobs.items()):
        if isinstance(blob, dict):
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


def failure(phase, message):
    return {"ok": False, "phase": phase, "type": "", "message": message}


def error_header(phase, exc):
    """An exception as the user should see it: its type, message and the plug-in's own frames."""
    try:
        message = str(exc) or type(exc).__name__
    except Exception:
        message = f"{type(exc).__name__} (its message could not be read)"
    try:
        # The plug-in's own frames: the host's and the import machinery's say nothing to its author.
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__)
            if os.path.abspath(f.filename) != HOST_FILE and not f.filename.startswith("<frozen")
        ]
        lines = ["Traceback (most recent call last):\n"] if frames else []
        try:
            last = traceback.format_exception_only(type(exc), exc)  # a SyntaxError's file, line and caret
        except Exception:
            last = [f"{type(exc).__name__}: {message}\n"]
        lines += traceback.format_list(frames) + last
        text = "".join(lines).rstrip().splitlines()
    except Exception:
        text = []
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


def module_name(path):
    """The name the plug-in is imported under: its file's stem, so that multiprocessing's spawned workers can
    import it again by name, unless that name is taken (a standard module, an imported package)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    stdlib = getattr(sys, "stdlib_module_names", ())
    if stem.isidentifier() and stem not in sys.modules and stem not in stdlib and stem != "numpy":
        return stem
    return "albench_plugin"


def load(path):
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def option_spec(key, spec):
    """One OPTIONS entry as albench's option schema, or a PluginError naming what is wrong and the fix."""
    where = f"OPTIONS[{key!r}]"
    if not isinstance(key, str) or not isinstance(spec, dict):
        raise PluginError(f"{where} must map a name to a dict such as {{\"type\": \"integer\", ...}}")
    unknown = sorted(map(str, set(spec) - OPTION_KEYS))
    if unknown:
        raise PluginError(
            f"{where} has unknown keys {', '.join(map(repr, unknown))}; the keys are "
            f"{', '.join(sorted(OPTION_KEYS))}"
        )
    kind = spec.get("type")
    if kind not in OPTION_TYPES:
        raise PluginError(f"{where}['type'] is {kind!r}; it must be one of {', '.join(sorted(OPTION_TYPES))}")
    out = {"type": kind, "description": spec.get("description", "")}
    if not isinstance(out["description"], str):
        raise PluginError(f"{where}['description'] must be a string")
    for bound, name in (("minimum", "min"), ("maximum", "max")):
        if bound in spec:
            if kind not in ("number", "integer") or not is_number(spec[bound]):
                raise PluginError(f"{where}['{bound}'] is {spec[bound]!r}; bounds are finite numbers of number options")
            out[name] = spec[bound]
    if "min" in out and "max" in out and out["min"] > out["max"]:
        raise PluginError(f"{where}: minimum {out['min']} is above maximum {out['max']}")
    if "enum" in spec:
        values = spec["enum"]
        if kind != "string" or not isinstance(values, (list, tuple)) or not values or not all(
            isinstance(v, str) for v in values
        ):
            raise PluginError(f"{where}['enum'] is {values!r}; it must be a non-empty list of strings (string options)")
        out["values"] = list(values)
    if "default" in spec:
        d = spec["default"]
        ok = {
            "number": is_number(d),
            "integer": is_number(d) and float(d).is_integer(),
            "boolean": isinstance(d, bool),
            "string": isinstance(d, str),
        }[kind]
        if not ok:
            raise PluginError(f"{where}['default'] is {d!r}, not a{'n' if kind == 'integer' else ''} {kind}")
        if "min" in out and d < out["min"]:
            raise PluginError(f"{where}['default'] is {d!r}, below its minimum {out['min']}")
        if "max" in out and d > out["max"]:
            raise PluginError(f"{where}['default'] is {d!r}, above its maximum {out['max']}")
        if "values" in out and d not in out["values"]:
            raise PluginError(f"{where}['default'] is {d!r}, not one of its enum {out['values']}")
        out["default"] = int(d) if kind == "integer" else d
    return out


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
    if options is None:
        options = {}  # no OPTIONS: a function without options (any option given is an error)
    if not isinstance(options, dict):
        raise PluginError(f"OPTIONS must be a dict of option name -> spec; got {type(options).__name__}")
    schema = {key: option_spec(key, spec) for key, spec in options.items()}
    name = getattr(module, "NAME", None)
    if name is None:
        name = os.path.splitext(os.path.basename(path))[0]
    if not isinstance(name, str) or not name.strip():
        raise PluginError(f"NAME must be a non-empty string; got {name!r}")
    doc = module.__doc__ if isinstance(module.__doc__, str) else ""
    return {
        "ok": True,
        "name": name,
        "doc": doc.strip(),
        "needs": [n for n in OUTPUTS if n in needs],
        "needsLabelled": "labelled" in needs,
        "optionSchema": schema,
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
        arrays[key] = None if raw is None else np.frombuffer(raw, dtype="<f4").reshape(n, spec["widths"][key])
    return View(list(spec["ids"]), arrays["probs"], arrays["features"])


def check_selected(np, value):
    """The ids a select returned, as a list of str, or a PluginError saying what is wrong with them."""
    hint = "return a list of id strings, e.g. [unlabelled.ids[i] for i in order[:budget]]"
    if value is None:
        raise PluginError(f"select returned None; {hint}")
    if isinstance(value, np.ndarray):
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


def check_scores(np, value, n):
    try:
        scores = np.asarray(value)
    except Exception as exc:
        raise PluginError(f"select's 'scores' are not an array of numbers: {exc}") from None
    if scores.dtype.kind not in "fiu":
        raise PluginError(f"select's 'scores' hold {scores.dtype} values; give numbers, one per unlabelled sample")
    if scores.ndim != 1 or scores.shape[0] != n:
        raise PluginError(
            f"select's 'scores' have shape {scores.shape}; give one number per unlabelled sample ({n},), in the "
            "order of unlabelled.ids"
        )
    return scores.astype("<f8")


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
        extra = sorted(map(str, set(result) - {"selected", "scores"}))
        if extra:
            raise PluginError(f"select returned a dict with keys {extra}; it may hold only 'selected' and 'scores'")
        if "selected" not in result:
            raise PluginError("select returned a dict without 'selected'")
        selected = check_selected(np, result["selected"])
        if result.get("scores") is not None:
            scores = check_scores(np, result["scores"], len(unlabelled.ids))
    else:
        selected = check_selected(np, result)
    return {"ok": True, "selected": selected}, ([("scores", scores.tobytes())] if scores is not None else [])


def child_main(module, header, blobs, result_fd):
    out = os.fdopen(result_fd, "wb", buffering=0)
    try:
        try:
            reply, reply_blobs = run_select(module, header, blobs)
        except PluginError as exc:
            reply, reply_blobs = failure("select", str(exc)), []
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
    if status is None:
        return "the plug-in's process closed its answer without giving one"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        why = " (killed, often for lack of memory)" if sig == signal.SIGKILL else ""
        return f"the plug-in's process was ended by signal {name}{why} during select"
    return f"the plug-in's process exited with code {os.WEXITSTATUS(status)} during select, without an answer"


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def read_answer(r, pid):
    """Exactly one frame from the child, and its exit status once known. A frame that is never completed ends when
    the child has exited and nothing more is there to read (a process it started may hold the pipe open)."""
    buf = bytearray()
    status = None
    poller = selectmod.poll()
    poller.register(r, selectmod.POLLIN)
    while True:
        try:
            n = frame_size(buf)
        except (ValueError, UnicodeDecodeError):
            return None, status, "its answer was not one albench can read"
        if n is not None:
            return bytes(buf[:n]), status, None
        if poller.poll(0 if status is not None else 100):
            chunk = os.read(r, 1 << 20)
            if chunk:
                buf += chunk
                continue
            return None, status, None  # every writer closed the pipe
        if status is not None:
            return None, status, None
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st


def run_call(module, header, blobs):
    workdir = tempfile.mkdtemp(prefix="call-", dir=STATE["root"])
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setpgid(0, 0)
            die_with_parent()
            for f in (PROTO_IN, PROTO_OUT):
                os.close(f.fileno())
            os.chdir(workdir)
            child_main(module, header, blobs, w)
        finally:
            os._exit(1)
    os.close(w)
    try:
        os.setpgid(pid, pid)  # the group exists before the host may need to kill it
    except OSError:
        pass
    STATE["child"] = pid
    data, status, problem = None, None, None
    try:
        with os.fdopen(r, "rb", buffering=0) as answer:
            data, status, problem = read_answer(answer.fileno(), pid)
    finally:
        kill_group(pid)  # whatever the plug-in started ends with its call
        if status is None:
            _, status = os.waitpid(pid, 0)
        STATE["child"] = None
        shutil.rmtree(workdir, ignore_errors=True)
    if data is not None:
        PROTO_OUT.write(data)  # the child's one frame, checked for its shape by read_answer
    else:
        write_frame(PROTO_OUT, failure("select", problem or describe_exit(status)))


def reader(requests):
    """Reads requests; when albench closes the pipe (a stop, a time limit), ends a running call, removes the
    folder and ends the host."""
    try:
        while True:
            frame = read_frame(PROTO_IN)
            if frame is None:
                break
            requests.put(frame)
    except Exception:
        pass
    child = STATE["child"]
    if child is not None:
        kill_group(child)
    if STATE["root"]:
        shutil.rmtree(STATE["root"], ignore_errors=True)
    os._exit(0)


def serve(module, requests):
    while True:
        header, blobs = requests.get()
        try:
            map_files(blobs)
        except OSError as exc:
            write_frame(PROTO_OUT, failure("select", f"the input arrays could not be read: {exc}"))
            continue
        run_call(module, header, blobs)


def main():
    path = sys.argv[1]
    if len(sys.argv) > 2:
        STATE["root"] = sys.argv[2]
        os.makedirs(STATE["root"], exist_ok=True)
    else:
        STATE["root"] = tempfile.mkdtemp(prefix="albench-query-")
    requests = queue.Queue()
    threading.Thread(target=reader, args=(requests,), daemon=True).start()
    home = tempfile.mkdtemp(prefix="load-", dir=STATE["root"])
    os.chdir(home)
    module = None
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
            json.dumps(reply, allow_nan=False)  # what cannot be sent is the plug-in's problem, named here
        except PluginError as exc:
            reply = failure("load", str(exc))
        except (TypeError, ValueError) as exc:
            reply = failure("load", f"its NAME, NEEDS, OPTIONS or docstring cannot be sent to albench: {exc}")
        except BaseException as exc:
            reply = error_header("load", exc)
    finally:
        os.chdir(STATE["root"])
        shutil.rmtree(home, ignore_errors=True)
    write_frame(PROTO_OUT, reply)
    if reply["ok"]:
        serve(module, requests)


if __name__ == "__main__":
    main()
