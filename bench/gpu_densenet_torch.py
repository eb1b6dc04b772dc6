"""DenseNet121 throughput in PyTorch on the same GPU as bench/gpu_densenet.ts: SGD training steps (BCE over 17
classes, batch 32, 224 px, fp32 tensors) and inference (batch 64). Prints one JSON line, with whether TF32 was
allowed for convolutions and matrix products (PyTorch's default allows it for cuDNN convolutions on Ampere and
later). Run: `python3 bench/gpu_densenet_torch.py [steps] [--no-tf32]`."""
import json, sys, time
import torch, torchvision

args = [a for a in sys.argv[1:] if not a.startswith("--")]
steps = int(args[0]) if args else 10
if "--no-tf32" in sys.argv:
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.benchmark = True
dev = torch.device("cuda")
model = torchvision.models.densenet121(num_classes=17).to(dev)
opt = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9)
x = torch.randn(32, 3, 224, 224, device=dev)
y = (torch.rand(32, 17, device=dev) > 0.8).float()
loss_fn = torch.nn.BCEWithLogitsLoss()

def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss

model.train()
for _ in range(3):
    step()
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(steps):
    step()
torch.cuda.synchronize()
train = steps * 32 / (time.perf_counter() - t0)
model.eval()
xi = torch.randn(64, 3, 224, 224, device=dev)
with torch.no_grad():
    for _ in range(3):
        model(xi)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        model(xi)
    torch.cuda.synchronize()
inference = steps * 64 / (time.perf_counter() - t0)
print(json.dumps({"path": "pytorch", "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                  "tf32": {"cudnn": torch.backends.cudnn.allow_tf32, "matmul": torch.backends.cuda.matmul.allow_tf32},
                  "trainImgPerSec": round(train, 1), "inferenceImgPerSec": round(inference, 1)}))
