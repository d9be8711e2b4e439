"""The machine a stage runs on: which hardware path it takes (CPU, cgroup quota, GPUs), which
precision, which devices and thread pools.

`precision: auto` computes in bfloat16 only where the hardware does so natively: a CPU with
AMX or AVX-512 bfloat16 units that oneDNN may use (ONEDNN_MAX_CPU_ISA can cap it below them),
or GPUs of compute capability 8.0 or more. Elsewhere bfloat16 is emulated and a training step
costs about ten times the float32 one (docs/benchmarks.md), so auto picks float32 there.

Detection works on plain descriptions (CPU flag sets, GPU detail dicts) so that tests can
fabricate any machine; `Machine.detect()` reads the real one.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

# oneDNN's ISA names in increasing order (oneDNN's dnnl_cpu_isa_t); bfloat16 is native from
# AVX512_CORE_BF16 on. Aliases that newer oneDNN releases also accept map to the same rank.
ONEDNN_ISAS = (
    "SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
    "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16",
)  # fmt: skip
ISA_ALIASES = {"AVX10_1_512": "AVX512_CORE_FP16", "AVX10_1_512_AMX": "AVX512_CORE_AMX",
               "AVX10_1_512_AMX_FP16": "AVX512_CORE_AMX_FP16"}  # fmt: skip
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
SHOWN_CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
BF16_GPU_CAPABILITY = (8, 0)  # Ampere and later
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
DISTRIBUTE = ("auto", "none", "mirrored")


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cpu_flags: frozenset[str]
    threads: int
    isa_cap: str | None = None  # ONEDNN_MAX_CPU_ISA, as set
    gpus: tuple[dict, ...] = field(default_factory=tuple)  # tf.config.experimental.get_device_details
    onednn: bool = True  # TensorFlow's oneDNN kernels on (pipeline.quiet_start), not Eigen's

    @classmethod
    def detect(cls) -> Machine:
        import tensorflow as tf

        model, flags = read_cpuinfo()
        gpus = tuple(
            {"name": g.name, **tf.config.experimental.get_device_details(g)}
            for g in tf.config.list_physical_devices("GPU")
        )
        from tensorflow.python.util import _pywrap_util_port

        onednn = _pywrap_util_port.IsMklEnabled()
        return cls(model, flags, available_cpus(), os.environ.get("ONEDNN_MAX_CPU_ISA"), gpus, onednn)

    def cpu_bf16_native(self) -> bool:
        if not self.onednn or not any(f in self.cpu_flags for f in BF16_CPU_FLAGS):
            return False
        if not self.isa_cap or self.isa_cap.upper() in ("ALL", "DEFAULT"):
            return True
        cap = ISA_ALIASES.get(self.isa_cap.upper(), self.isa_cap.upper())
        if cap not in ONEDNN_ISAS:
            return False  # an ISA name we do not know: assume the cap is below bfloat16
        return ONEDNN_ISAS.index(cap) >= ONEDNN_ISAS.index("AVX512_CORE_BF16")

    def gpu_bf16_native(self) -> bool:
        return bool(self.gpus) and all(
            tuple(g.get("compute_capability") or (0, 0)) >= BF16_GPU_CAPABILITY for g in self.gpus
        )

    def device(self) -> str:
        if self.gpus:
            names = ", ".join(
                f"{g.get('device_name', g.get('name', 'GPU'))} "
                f"(compute {'.'.join(map(str, g.get('compute_capability') or ('?',)))})"
                for g in self.gpus
            )
            return f"{len(self.gpus)} GPU: {names}"
        shown = " ".join(f for f in SHOWN_CPU_FLAGS if f in self.cpu_flags) or "no AVX2"
        if not self.onednn:
            cap = "; oneDNN off, Eigen's kernels"
        else:
            cap = f"; oneDNN capped at {self.isa_cap}" if self.isa_cap else ""
        return f"CPU {self.cpu_model} [{shown}{cap}], {self.threads} threads"


def cgroup_cpu_limit() -> float | None:
    """CPUs this process may use by its cgroup's CPU quota (v2 or v1), or None when unlimited."""
    for path, parse in (
        ("/sys/fs/cgroup/cpu.max", lambda t: t.split()),
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", None),
    ):
        try:
            text = Path(path).read_text()
            if parse:
                quota, period = parse(text)
            else:
                quota, period = text.strip(), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().strip()
        except (OSError, ValueError):
            continue
        if quota in ("max", "-1"):
            return None
        return int(quota) / int(period)
    return None


def available_cpus(affinity: int | None = None, quota: float | None | str = "read") -> int:
    """The cores this process can really use: its CPU affinity, capped by a cgroup quota.
    A container limited to 2 of a 64-core host's CPUs still sees 64 in os.cpu_count(); a thread
    pool of 64 on 2 cores spends its time being descheduled."""
    affinity = affinity if affinity is not None else len(os.sched_getaffinity(0))
    quota = cgroup_cpu_limit() if quota == "read" else quota
    return max(1, min(affinity, math.ceil(quota))) if quota else affinity


def read_cpuinfo(text: str | None = None) -> tuple[str, frozenset[str]]:
    """(model name, flags) of the first CPU in /proc/cpuinfo (or in `text`)."""
    if text is None:
        try:
            with open("/proc/cpuinfo") as f:
                text = f.read()
        except OSError:
            return "unknown", frozenset()
    model, flags = "unknown", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown":
            model = value.strip()
        elif key in ("flags", "Features") and not flags:  # x86, ARM
            flags = frozenset(value.split())
    return model, flags


def choose_precision(requested: str, machine: Machine) -> tuple[str, str, str | None]:
    """(Keras dtype policy, why, warning or None) for a `precision` param on `machine`."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision: got {requested!r}, allowed values: {', '.join(PRECISIONS)}")
    if machine.gpus:
        native = machine.gpu_bf16_native()
        why = (
            "the GPU computes bfloat16 natively"
            if native
            else "a GPU of compute capability < 8.0 has no native bfloat16"
        )
    else:
        native = machine.cpu_bf16_native()
        if native:
            why = "this CPU computes bfloat16 natively"
        elif not any(f in machine.cpu_flags for f in BF16_CPU_FLAGS):
            why = "no avx512_bf16 or amx_bf16 in the CPU flags: bfloat16 would be emulated"
        elif not machine.onednn:
            why = "with TF_ENABLE_ONEDNN_OPTS=0 Eigen's kernels emulate bfloat16"
        else:
            why = f"ONEDNN_MAX_CPU_ISA={machine.isa_cap} keeps oneDNN below the CPU's bfloat16 units"
    if requested == "auto":
        return ("mixed_bfloat16" if native else "float32"), f"auto: {why}", None
    warning = None
    if requested == "mixed_bfloat16" and not native:
        warning = (
            f"precision mixed_bfloat16 on hardware without native bfloat16 ({why}): emulated, "
            "about 10x slower than float32 here; set precision: auto"
        )
    return requested, "as set in params.yaml", warning


def choose_devices(distribute: str, gpus: int, cpus: int) -> tuple[list[str] | None, str]:
    """(the devices to mirror the model over, or None for one device; why) for a `distribute`
    param on a machine with `gpus` GPUs and `cpus` logical CPU devices."""
    if distribute not in DISTRIBUTE:
        raise ValueError(f"distribute: got {distribute!r}, allowed values: {', '.join(DISTRIBUTE)}")
    if distribute == "none":
        return None, "one device (distribute: none)"
    if gpus > 1 or (distribute == "mirrored" and gpus):
        return [f"/gpu:{i}" for i in range(gpus)], f"mirrored over {gpus} GPUs ({distribute})"
    if distribute == "auto":
        return None, f"one device (auto: {'one GPU' if gpus else 'no GPU'})"
    # Over CPU devices it splits each batch and gains nothing on one CPU: for tests and checks.
    return [f"/cpu:{i}" for i in range(cpus)], f"mirrored over {cpus} CPU devices (mirrored)"


def start(stage: str, precision: str | None = None, distribute: str = "none"):
    """Set up TensorFlow for a training stage and print, as its first line, the hardware path it
    takes. Returns the tf.distribute strategy to build and compile the model under (the default
    strategy, one device, unless `distribute` mirrors it over several)."""
    import keras
    import tensorflow as tf

    machine = Machine.detect()
    policy, why, warning = ("float32", "this model has no precision param", None)
    if precision is not None:
        policy, why, warning = choose_precision(precision, machine)
    keras.mixed_precision.set_global_policy(policy)
    # Before any op runs: TensorFlow fixes its thread pools at first use.
    tf.config.threading.set_intra_op_parallelism_threads(machine.threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, machine.threads))
    devices, where = choose_devices(distribute, len(machine.gpus), len(tf.config.list_logical_devices("CPU")))
    strategy = tf.distribute.MirroredStrategy(devices) if devices else tf.distribute.get_strategy()
    print(f"{stage}: {machine.device()}; precision {policy} ({why}); {where}", file=sys.stderr, flush=True)
    if warning:
        print(f"{stage}: warning: {warning}", file=sys.stderr, flush=True)
    return strategy
