import assert from "node:assert/strict";
import { formatModelRows, type ModelRow, modelRows } from "../src/perf/table.ts";
import { modelConfigs } from "../src/perf/configs.ts";
import { parsePeakRss, rowKey, withPeakRss } from "../src/perf/memory.ts";
import {
  findTorchPython,
  parsePeerReport,
  PEER_SCRIPT,
  peerInput,
  peerPeakRss,
  pythonCandidates,
  runPeer,
  withPeer,
} from "../src/perf/peer.ts";

const ok = (avg: number) => [{ ok: { n: 1, avg, min: avg } }];

/** One training configuration on two backends (albench 30 img/s on wasm, 60 on native), one inference row. */
function rows(): ModelRow[] {
  const wasm = modelRows(
    {
      benches: [
        { name: "train densenet-cpu@32 b10x6 stock", results: ok(12e9) },
        { name: "train densenet-cpu@32 b10x6 albench", results: ok(2e9) },
        { name: "infer small-cnn@64 b64x2 albench", results: ok(0.5e9) },
      ],
    },
    "wasm",
    () => 1e9,
    undefined,
  );
  const native = modelRows(
    { benches: [{ name: "train densenet-cpu@32 b10x6 albench", results: ok(1e9) }] },
    "native",
    () => 1e9,
    undefined,
  );
  return [...wasm, ...native];
}

const peer = (threads: number, trainImgPerS: number) =>
  parsePeerReport(JSON.stringify({
    torch: "1.13.1",
    threads,
    memoryFormat: "channels_last",
    blas: "generic",
    rows: [
      { mode: "train", backbone: "densenet-cpu", resolution: 32, batch: 10, steps: 6, imgPerS: trainImgPerS },
      // Another batch size: matches nothing.
      { mode: "infer", backbone: "small-cnn", resolution: 64, batch: 32, steps: 2, imgPerS: 500 },
    ],
  }));

Deno.test("perf peer: the rows the peer is given are the set's configurations", () => {
  assert.equal(
    peerInput(modelConfigs("quick")),
    '[{"mode":"train","backbone":"small-cnn","resolution":16,"batch":10,"steps":2,"n":1},' +
      '{"mode":"infer","backbone":"small-cnn","resolution":16,"batch":32,"steps":2,"n":1}]',
  );
  assert.deepEqual(pythonCandidates(undefined), ["python3", "/usr/bin/python3"]);
  assert.deepEqual(pythonCandidates(""), ["python3", "/usr/bin/python3"]);
  assert.deepEqual(pythonCandidates("/opt/py/bin/python"), ["/opt/py/bin/python"]);
});

Deno.test("perf peer: the report parses and malformed output is named", () => {
  const r = peer(2, 40);
  assert.equal(r.torch, "1.13.1");
  assert.equal(r.threads, 2);
  assert.equal(r.blas, "generic");
  assert.deepEqual(r.rows[0], {
    mode: "train",
    backbone: "densenet-cpu",
    resolution: 32,
    batch: 10,
    imgPerS: 40,
  });
  assert.throws(() => parsePeerReport("Traceback (most recent call last)"), /output is not JSON/);
  assert.throws(
    () => parsePeerReport('{"torch":"1.13","rows":[]}'),
    /lacks torch, threads, memoryFormat or rows/,
  );
  assert.throws(
    () =>
      parsePeerReport(
        '{"torch":"1.13","threads":1,"memoryFormat":"contiguous","rows":[{"mode":"train","backbone":"x","resolution":16,"batch":10,"imgPerS":0}]}',
      ),
    /row .* is not \{mode, backbone, resolution, batch, imgPerS\}/,
  );
});

Deno.test("perf peer: pytorch and pytorch1 join every backend's row of a configuration; albench/pytorch", () => {
  const joined = withPeer(withPeer(rows(), peer(1, 12.5), "pytorch1"), peer(2, 20), "pytorch");
  const [wasmTrain, wasmInfer, nativeTrain] = joined;
  assert.equal(wasmTrain!.imgPerS.albench, 30);
  assert.equal(wasmTrain!.imgPerS.stock, 5);
  assert.equal(wasmTrain!.imgPerS.pytorch1, 12.5);
  assert.equal(wasmTrain!.imgPerS.pytorch, 20);
  assert.equal(wasmTrain!.pytorchRatio, 1.5); // 30 / 20
  assert.equal(wasmTrain!.ratio, 6, "albench/stock unchanged");
  assert.equal(nativeTrain!.backend, "native");
  assert.equal(nativeTrain!.imgPerS.pytorch, 20);
  assert.equal(nativeTrain!.pytorchRatio, 3); // 60 / 20
  assert.equal(wasmInfer!.imgPerS.pytorch, undefined, "batch 32 in the peer is not batch 64 here");
  assert.equal(wasmInfer!.pytorchRatio, null);
  assert.ok(!("pytorch" in wasmInfer!.imgPerS), "absent, not null");
  // One thread only: no ratio (it is against all threads).
  assert.equal(withPeer(rows(), peer(1, 12.5), "pytorch1")[0]!.pytorchRatio, null);
  // The rows perf.json gets: keys absent without the peer.
  assert.deepEqual(JSON.parse(JSON.stringify(rows()[0]!.imgPerS)), { stock: 5, albench: 30 });
});

Deno.test("perf peer: the table shows the peer's columns only when a row has them", () => {
  const plain = formatModelRows(rows());
  assert.ok(!plain[0]!.includes("pytorch"));
  const lines = formatModelRows(
    withPeer(withPeer(rows(), peer(1, 12.5), "pytorch1"), peer(2, 20), "pytorch"),
  );
  assert.match(
    lines[0]!,
    /stock img\/s {2}albench img\/s {2}ratio {2}pytorch1 img\/s {2}pytorch img\/s {2}albench\/pytorch {2}GFLOP\/s/,
  );
  assert.match(
    lines[1]!,
    /^wasm\s+train\s+densenet-cpu\s+32\s+10\s+5\.0\s+30\.0\s+6\.00x\s+12\.5\s+20\.0\s+1\.50x\s/,
  );
  assert.match(lines[2]!, /^wasm\s+infer\s+small-cnn\s+64\s+64\s+-\s+256\.0\s+-\s+-\s+-\s+-\s/);
  assert.match(
    lines[3]!,
    /^native\s+train\s+densenet-cpu\s+32\s+10\s+-\s+60\.0\s+-\s+12\.5\s+20\.0\s+3\.00x\s/,
  );
  assert.equal(new Set(lines.map((l) => l.length)).size, 1, "aligned");
});

Deno.test("perf memory: the table shows peak memory columns only when a row has them, '-' where unmeasured", () => {
  const plain = formatModelRows(rows());
  assert.ok(!plain[0]!.includes("MiB"));
  const measured = new Map([
    [rowKey(rows()[0]!), { albench: 812.4, pytorch: 1024 }],
    [rowKey(rows()[2]!), { albench: 300.6 }],
  ]);
  const withMemory = withPeakRss(rows(), measured);
  assert.deepEqual(withMemory[0]!.peakRssMiB, { albench: 812.4, pytorch: 1024 });
  assert.equal(withMemory[1]!.peakRssMiB, undefined);
  const lines = formatModelRows(withMemory);
  assert.match(lines[0]!, /ratio {2}albench MiB {2}pytorch MiB {2}GFLOP\/s/);
  assert.match(lines[1]!, /^wasm\s+train\s+densenet-cpu\s+32\s+10\s+5\.0\s+30\.0\s+6\.00x\s+812\s+1024\s/);
  assert.match(lines[2]!, /^wasm\s+infer\s+small-cnn\s+64\s+64\s+-\s+256\.0\s+-\s+-\s+-\s/);
  assert.match(lines[3]!, /^native\s+train\s+densenet-cpu\s+32\s+10\s+-\s+60\.0\s+-\s+301\s+-\s/);
  assert.equal(new Set(lines.map((l) => l.length)).size, 1, "aligned");
  // A peak-memory report without its number is refused by name.
  assert.throws(() => parsePeakRss('{"peakRssKiB": -1}', "the row"), /the row: no peakRssKiB in its output/);
});

const torch = await findTorchPython(pythonCandidates(Deno.env.get("ALBENCH_PYTHON")));

Deno.test({
  name: "found" in torch
    ? `bench/peer_torch_cpu.py: the smallest quick row (small-cnn 16 px) with ${torch.found.python}`
    : `bench/peer_torch_cpu.py: skipped, no Python with torch (${torch.missing})`,
  ignore: !("found" in torch),
  async fn() {
    if (!("found" in torch)) return;
    const [row] = modelConfigs("quick");
    assert.equal(row!.backbone, "small-cnn");
    assert.equal(row!.resolution, 16);
    const report = await runPeer(torch.found.python, [row!], 1);
    assert.equal(report.threads, 1);
    assert.equal(report.torch, torch.found.torch);
    assert.ok(["channels_last", "contiguous"].includes(report.memoryFormat));
    assert.notEqual(report.blas, "unknown");
    assert.equal(report.rows.length, 1);
    const r = report.rows[0]!;
    assert.deepEqual([r.mode, r.backbone, r.resolution, r.batch], ["train", "small-cnn", 16, 10]);
    assert.ok(r.imgPerS > 0);
    // --peak-rss: the row alone, and this process's VmHWM (a Python with torch holds more than 50 MiB).
    const mib = await peerPeakRss(torch.found.python, row!, 1);
    assert.ok(mib > 50 && mib < 2 ** 20, `${mib} MiB`);
    // Bad rows are a usage error (exit 2) naming what a row needs.
    const bad = await new Deno.Command(torch.found.python, {
      args: [PEER_SCRIPT, "--threads", "1", '[{"mode":"train","backbone":"resnet50","resolution":16}]'],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bad.code, 2);
    assert.match(new TextDecoder().decode(bad.stderr), /bad row .*resnet50.*needs mode train\|infer/);
  },
});
