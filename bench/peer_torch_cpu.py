"""The PyTorch CPU peer of bench/perf_models_bench.ts: the same networks, batch, resolution and step, for the
`pytorch` and `pytorch1` columns of `deno task perf`.

Networks, written from their definitions in src/model/backbones.ts and src/model/classifier.ts:
- DenseNet-BC: DenseNet121 (ImageNet stem: zero padding 3, 7x7/2 valid convolution, BN, ReLU, zero padding 1,
  3x3/2 max pool; blocks 6-12-24-16, growth 32) and the CPU-scale densenet-cpu (CIFAR stem: one 3x3 convolution
  with 24 channels; blocks 4-4-4, growth 12). Bottleneck layers BN-ReLU-conv1x1(4k)-BN-ReLU-conv3x3(k), the
  output concatenated to the input; transitions BN-ReLU-conv1x1(floor(0.5 c))-average pool 2/2; final BN-ReLU and
  global average pooling. Convolutions without bias, He-normal; batch norm eps 1.001e-5, torch momentum 0.1
  (Keras' 0.9: both keep 0.9 of the moving statistics).
- small-cnn: four conv3x3-BN-ReLU stages (32, 64, 128, 128 channels), 2x2 max pooling after the first two, global
  average pooling (128 features).
- The head: one dense layer (with bias) to 17 logits.

Training rows time what src/train/finetune.ts does per step at the given batch: gather the batch from uint8
images, flip each sample horizontally with probability 1/2 and rotate it by 0-3 quarter turns, normalise with the
ImageNet mean and std, forward in training mode, mean sigmoid binary cross-entropy from logits, backward, SGD with
momentum 0.9 and lr 0.01. Inference rows time evaluation-mode forward batches of backbone and head with the
sigmoid, probabilities and features copied out, as src/train/finetune.ts's `infer`.

Memory format: channels-last (NHWC strides; `--memory-format contiguous` for NCHW). Measured once on the 2-core
AMD EPYC of this project's tables, torch 1.13.1 (Debian python3-torch 1.13.1+dfsg, which reports 1.13.0a0; oneDNN
2.6.3), one thread, alternating the two formats run by run: small-cnn 32 px training 1.1-1.5x faster with
channels-last (317-428 against 270-360 img/s), small-cnn 64 px inference 1.7x, densenet-cpu 32 px inference
(batch 64) 1.6x, densenet-cpu 32 px training about even (1.0-1.1x); contiguous was not faster in any row. The
input batch is NHWC already, so channels-last also needs no transpose. To remeasure, run the same rows with both
values of the flag. At two threads the other process on the machine made the comparison inconclusive
(densenet-cpu 32 px training 123-157 img/s channels-last, 136 contiguous, in the runs without contention).

What PyTorch itself decides (left as it is, since the peer is PyTorch as installed):
- At one thread and batch < 16, PyTorch 1.13 runs 1x1 convolutions (DenseNet's bottleneck and transition
  convolutions) through its im2col path and the BLAS it was built against instead of oneDNN; Debian's build uses
  libblas.so.3 (`"blas": "generic"` in the output), the reference BLAS unless OpenBLAS is installed, which makes
  those convolutions slow. The DenseNet training rows at `--threads 1` pay for that; with 2 or more threads
  every convolution goes to oneDNN. The output's `blas` says which build it was.
- With every core as an OpenMP thread, throughput collapses (10x and more, measured) while another process
  keeps a core busy: the threads wait for each other at every parallel region. Measure on an idle machine.

Usage:
  python3 bench/peer_torch_cpu.py --threads N [ROWS_JSON]     rows from the argument, or from stdin without it
  python3 bench/peer_torch_cpu.py --probe                     prints {"torch", "python"}; exit 3 without torch
  python3 bench/peer_torch_cpu.py --threads N --peak-rss ROW  also prints "peakRssKiB", this process's peak
                                                              resident memory (VmHWM): one row per process

ROWS_JSON is a list of {"mode": "train"|"infer", "backbone", "resolution", "batch", "steps"[, "n"]} (the rows
of src/perf/configs.ts; `n` timed repetitions, default 1). Each row is warmed up (two training steps or one
inference batch, untimed) and then `steps` steps or batches are timed, `n` times. Prints one JSON object on
stdout: {"torch", "threads", "memoryFormat", "blas", "rows": [{"mode", "backbone", "resolution", "batch",
"steps", "imgPerS"}]}. No network, no downloads; progress on stderr.
"""
import json
import math
import re
import sys
import time

BN_EPS = 1.001e-5
BN_MOMENTUM = 0.1  # torch's convention: Keras momentum 0.9
NUM_CLASSES = 17
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

DENSENET121 = {"stem": "imagenet", "stem_channels": 64, "blocks": (6, 12, 24, 16), "growth": 32}
DENSENET_CPU = {"stem": "cifar", "stem_channels": 24, "blocks": (4, 4, 4), "growth": 12}
BOTTLENECK = 4
COMPRESSION = 0.5


def usage_error(message):
    print(f"peer_torch_cpu.py: {message}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    threads, memory_format, rows_text, probe, peak_rss = None, "channels_last", None, False, False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--probe":
            probe = True
        elif a == "--peak-rss":
            peak_rss = True
        elif a in ("--threads", "--memory-format"):
            if i + 1 >= len(argv):
                usage_error(f"{a} needs a value")
            if a == "--threads":
                try:
                    threads = int(argv[i + 1])
                except ValueError:
                    usage_error(f"--threads: {argv[i + 1]!r} is not an integer")
                if threads < 1:
                    usage_error("--threads must be at least 1")
            else:
                memory_format = argv[i + 1]
                if memory_format not in ("channels_last", "contiguous"):
                    usage_error("--memory-format is channels_last or contiguous")
            i += 1
        elif a.startswith("-"):
            usage_error(f"unknown option {a}")
        elif rows_text is None:
            rows_text = a
        else:
            usage_error("one ROWS_JSON argument at most")
        i += 1
    return threads, memory_format, rows_text, probe, peak_rss


def peak_rss_kib():
    """This process's peak resident memory (`VmHWM` of /proc/self/status, KiB), as albench's rows read it."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmHWM line")


def parse_rows(text):
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as e:
        usage_error(f"rows are not JSON: {e}")
    if not isinstance(rows, list):
        usage_error("rows must be a JSON list")
    out = []
    for r in rows:
        ok = (
            isinstance(r, dict)
            and r.get("mode") in ("train", "infer")
            and r.get("backbone") in ("small-cnn", "densenet-cpu", "densenet121")
            and all(isinstance(r.get(k), int) and r.get(k) > 0 for k in ("resolution", "batch", "steps"))
            and (isinstance(r.get("n", 1), int) and r.get("n", 1) > 0)
        )
        if not ok:
            usage_error(f"bad row {json.dumps(r)}: needs mode train|infer, backbone small-cnn|densenet-cpu|"
                        "densenet121 and positive integer resolution, batch, steps (and n)")
        out.append(r)
    return out


def build(torch, backbone, resolution):
    nn = torch.nn

    def conv(cin, cout, k, stride=1, padding=None):
        c = nn.Conv2d(cin, cout, k, stride=stride, padding=(k // 2 if padding is None else padding), bias=False)
        nn.init.kaiming_normal_(c.weight, nonlinearity="relu")  # He-normal, fan-in
        return c

    def bn(c):
        return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)

    class Bottleneck(nn.Module):
        def __init__(self, cin, growth):
            super().__init__()
            self.body = nn.Sequential(
                bn(cin), nn.ReLU(inplace=True), conv(cin, BOTTLENECK * growth, 1),
                bn(BOTTLENECK * growth), nn.ReLU(inplace=True), conv(BOTTLENECK * growth, growth, 3))

        def forward(self, x):
            return torch.cat([x, self.body(x)], 1)

    def densenet(cfg):
        layers = []
        c = cfg["stem_channels"]
        if cfg["stem"] == "imagenet":
            layers += [nn.ZeroPad2d(3), conv(3, c, 7, stride=2, padding=0), bn(c), nn.ReLU(inplace=True),
                       nn.ZeroPad2d(1), nn.MaxPool2d(3, stride=2)]
        else:
            layers.append(conv(3, c, 3))
        for b, n in enumerate(cfg["blocks"]):
            for _ in range(n):
                layers.append(Bottleneck(c, cfg["growth"]))
                c += cfg["growth"]
            if b < len(cfg["blocks"]) - 1:
                out = math.floor(c * COMPRESSION)
                layers += [bn(c), nn.ReLU(inplace=True), conv(c, out, 1), nn.AvgPool2d(2, stride=2)]
                c = out
        layers += [bn(c), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), c

    def small_cnn():
        layers, cin = [], 3
        for i, cout in enumerate((32, 64, 128, 128)):
            layers += [conv(cin, cout, 3), bn(cout), nn.ReLU(inplace=True)]
            if i < 2:
                layers.append(nn.MaxPool2d(2))
            cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), cin

    if backbone == "small-cnn":
        features, dim = small_cnn()
    else:
        features, dim = densenet(DENSENET121 if backbone == "densenet121" else DENSENET_CPU)
    head = nn.Linear(dim, NUM_CLASSES)
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    return features, head


def make_batch(torch, images, idx, memory_format, augs=None):
    """uint8 NHWC samples -> normalised float NCHW batch in `memory_format`, with (flip, quarter turns) per
    sample: flip first, then rotate clockwise (src/data/batch.ts)."""
    x = images[idx]
    if augs is not None:
        samples = []
        for k, (flip, rot) in enumerate(augs):
            s = x[k]
            if flip:
                s = torch.flip(s, dims=(1,))
            if rot:
                s = torch.rot90(s, -rot, dims=(0, 1))
            samples.append(s)
        x = torch.stack(samples)
    x = x.float().div_(255)
    x = x.sub_(torch.tensor(MEAN)).div_(torch.tensor(STD))
    # NHWC memory viewed as NCHW is channels-last already; .contiguous() makes the NCHW copy.
    x = x.permute(0, 3, 1, 2)
    return x.contiguous(memory_format=memory_format)


def run_row(torch, row, memory_format, gen):
    mode, backbone, res = row["mode"], row["backbone"], row["resolution"]
    batch, steps, reps = row["batch"], row["steps"], row.get("n", 1)
    torch.manual_seed(0)
    features, head = build(torch, backbone, res)
    features = features.to(memory_format=memory_format)
    # Enough images for the timed steps and for the two warm-up steps of a training row.
    count = max(batch * max(steps, 2), 10)
    images = torch.randint(0, 256, (count, res, res, 3), dtype=torch.uint8, generator=gen)
    labels = (torch.rand(count, NUM_CLASSES, generator=gen) < 0.2).float()

    if mode == "train":
        features.train()
        head.train()
        params = list(features.parameters()) + list(head.parameters())
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
        loss_fn = torch.nn.BCEWithLogitsLoss()

        def epoch(n_steps):
            order = torch.randperm(count, generator=gen)[: n_steps * batch]
            loss_sum = 0.0
            for s in range(n_steps):
                idx = order[s * batch:(s + 1) * batch]
                flips = (torch.rand(batch, generator=gen) < 0.5).tolist()
                rots = torch.randint(0, 4, (batch,), generator=gen).tolist()
                x = make_batch(torch, images, idx, memory_format, list(zip(flips, rots)))
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(head(features(x)), labels[idx])
                loss.backward()
                opt.step()
                loss_sum += loss.item()
            return loss_sum

        epoch(2)
        t0 = time.perf_counter()
        for _ in range(reps):
            epoch(steps)
        seconds = time.perf_counter() - t0
    else:
        features.eval()
        head.eval()

        def batches(n_batches):
            probs, feats = [], []
            with torch.inference_mode():
                for s in range(n_batches):
                    idx = torch.arange(s * batch, (s + 1) * batch)
                    f = features(make_batch(torch, images, idx, memory_format))
                    p = torch.sigmoid(head(f))
                    probs.append(p.clone())  # the copies out that infer() makes
                    feats.append(f.clone())
            return probs, feats

        batches(1)
        t0 = time.perf_counter()
        for _ in range(reps):
            batches(steps)
        seconds = time.perf_counter() - t0
    return {"mode": mode, "backbone": backbone, "resolution": res, "batch": batch, "steps": steps,
            "imgPerS": batch * steps * reps / seconds}


def blas_info(torch):
    """The BLAS torch was built against (`BLAS_INFO` of its build configuration: `mkl`, `open`, or `generic`:
    Debian's libblas.so.3, i.e. whichever BLAS update-alternatives selects, the reference BLAS by default)."""
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return m.group(1) if m else "unknown"


def main(argv):
    """Remeasure the memory format: run the same rows with `--memory-format channels_last` and with
    `--memory-format contiguous` at one thread and compare imgPerS."""
    threads, memory_format, rows_text, probe, peak_rss = parse_args(argv)
    try:
        import torch
    except ImportError as e:
        print(f"peer_torch_cpu.py: torch is not importable by {sys.executable}: {e}", file=sys.stderr)
        return 3
    if probe:
        print(json.dumps({"torch": torch.__version__, "python": sys.executable}))
        return 0
    if threads is None:
        usage_error("--threads N is required")
    rows = parse_rows(sys.stdin.read() if rows_text is None else rows_text)
    torch.set_num_threads(threads)
    fmt = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format
    gen = torch.Generator().manual_seed(0)
    out = []
    for row in rows:
        label = f"{row['mode']} {row['backbone']}@{row['resolution']} b{row['batch']}x{row['steps']}"
        print(f"perf:   pytorch {threads} thread(s): {label}", file=sys.stderr, flush=True)
        out.append(run_row(torch, row, fmt, gen))
    report = {"torch": torch.__version__, "threads": torch.get_num_threads(),
              "memoryFormat": memory_format, "blas": blas_info(torch), "rows": out}
    if peak_rss:
        report["peakRssKiB"] = peak_rss_kib()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
