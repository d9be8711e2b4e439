"""pipeline.runtime: which precision and hardware path a stage takes, on fabricated machines."""

import os
import platform
import subprocess
import sys

import pytest

from pipeline import errors, hardware
from tests.conftest import ROOT

AVX2_ONLY = frozenset(["fpu", "sse2", "avx", "avx2", "fma"])  # the AMD EPYC of the report
AVX512_NO_BF16 = AVX2_ONLY | {"avx512f", "avx512bw", "avx512vl"}  # Skylake-SP, Ice Lake
ZEN4 = AVX512_NO_BF16 | {"avx512_bf16"}
SAPPHIRE_RAPIDS = ZEN4 | {"amx_bf16", "amx_tile", "amx_int8"}


def machine(flags=AVX2_ONLY, isa_cap=None, gpus=(), onednn=True):
    return hardware.Machine("test CPU", frozenset(flags), 2, isa_cap, tuple(gpus), onednn)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (AVX2_ONLY, "float32"),
        (AVX512_NO_BF16, "float32"),
        (ZEN4, "mixed_bfloat16"),
        (SAPPHIRE_RAPIDS, "mixed_bfloat16"),
    ],
)
def test_auto_takes_bfloat16_only_where_the_cpu_computes_it(flags, expected):
    policy, why, warning = hardware.choose_precision("auto", machine(flags))
    assert policy == expected
    assert why.startswith("auto: ")
    assert warning is None


@pytest.mark.parametrize(
    ("cap", "expected"),
    [
        ("AVX2", "float32"),
        ("avx512_core", "float32"),  # oneDNN reads the name case-insensitively
        ("AVX512_CORE_VNNI", "float32"),
        ("AVX512_CORE_BF16", "mixed_bfloat16"),
        ("AVX512_CORE_AMX", "mixed_bfloat16"),
        ("AVX10_1_512_AMX", "mixed_bfloat16"),
        ("ALL", "mixed_bfloat16"),
        ("SOMETHING_NEW", "float32"),
    ],
)
def test_a_onednn_isa_cap_below_bfloat16_means_float32(cap, expected):
    policy, why, _ = hardware.choose_precision("auto", machine(SAPPHIRE_RAPIDS, isa_cap=cap))
    assert policy == expected
    if expected == "float32":
        assert f"ONEDNN_MAX_CPU_ISA={cap}" in why


def test_explicit_bfloat16_without_native_support_runs_with_a_warning_saying_how_much_slower():
    policy, why, warning = hardware.choose_precision("mixed_bfloat16", machine(AVX2_ONLY))
    assert policy == "mixed_bfloat16"
    assert "10x slower" in warning and "precision: auto" in warning
    assert "\n" not in warning
    assert hardware.choose_precision("mixed_bfloat16", machine(ZEN4))[2] is None
    assert hardware.choose_precision("float32", machine(SAPPHIRE_RAPIDS))[:1] == ("float32",)


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        ([(8, 0)], "mixed_bfloat16"),
        ([(9, 0), (8, 6)], "mixed_bfloat16"),
        ([(7, 5)], "float32"),
        ([(8, 6), (7, 0)], "float32"),
        ([None], "float32"),
    ],
)
def test_auto_chooses_per_gpu_whatever_the_cpu(capabilities, expected):
    gpus = [{"name": f"/physical_device:GPU:{i}", "device_name": "NVIDIA X", "compute_capability": c}
            for i, c in enumerate(capabilities)]  # fmt: skip
    m = machine(SAPPHIRE_RAPIDS if expected == "float32" else AVX2_ONLY, gpus=gpus)
    assert hardware.choose_precision("auto", m)[0] == expected
    assert m.device().startswith(f"{len(gpus)} GPU: NVIDIA X")


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="allowed values: auto, float32, mixed_bfloat16"):
        hardware.choose_precision("float16", machine())


def test_cpuinfo_gives_model_and_flags_of_x86_and_arm():
    x86 = (
        "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu avx2 fma\n\nprocessor\t: 1\nmodel name\t: other\n"
    )
    assert hardware.read_cpuinfo(x86) == ("AMD EPYC 7B13", frozenset({"fpu", "avx2", "fma"}))
    arm = "processor\t: 0\nFeatures\t: fp asimd bf16\n"
    assert hardware.read_cpuinfo(arm) == ("unknown", frozenset({"fp", "asimd", "bf16"}))


def test_threads_follow_the_cgroup_quota_not_the_host_core_count():
    assert hardware.available_cpus(affinity=64, quota=2.0) == 2
    assert hardware.available_cpus(affinity=64, quota=1.5) == 2
    assert hardware.available_cpus(affinity=64, quota=0.2) == 1
    assert hardware.available_cpus(affinity=2, quota=8.0) == 2
    assert hardware.available_cpus(affinity=4, quota=None) == 4


def test_device_line_names_the_flags_that_matter_and_the_cap():
    line = machine(ZEN4, isa_cap="AVX2").device()
    assert line == "CPU test CPU [avx2 fma avx512f avx512_bf16; oneDNN capped at AVX2], 2 threads"


def test_device_line_says_when_onednn_is_off_and_auto_then_keeps_float32():
    off = machine(ZEN4, onednn=False)
    assert off.device() == "CPU test CPU [avx2 fma avx512f avx512_bf16; oneDNN off, Eigen's kernels], 2 threads"
    policy, why, _ = hardware.choose_precision("auto", off)
    assert (policy, why) == ("float32", "auto: with TF_ENABLE_ONEDNN_OPTS=0 Eigen's kernels emulate bfloat16")


@pytest.mark.skipif(platform.machine() != "x86_64", reason="oneDNN is TensorFlow's x86 path")
@pytest.mark.parametrize(("env", "expected"), [(None, "1 True"), ("0", "0 False")])
def test_the_quiet_start_turns_onednn_on_unless_the_environment_says_otherwise(env, expected):
    # TensorFlow leaves oneDNN off on CPUs without AVX512_VNNI, bfloat16 or AMX units, and
    # Eigen's kernels train the image models at half the speed there.
    code = (
        "import os; from pipeline import hardware, quiet_start; quiet_start.tensorflow(); "
        "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], hardware.Machine.detect().onednn)"
    )
    environ = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if env is not None:
        environ["TF_ENABLE_ONEDNN_OPTS"] = env
    run = [sys.executable, "-c", code]
    proc = subprocess.run(run, cwd=ROOT, env=environ, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == expected


@pytest.mark.skipif(platform.machine() != "x86_64", reason="oneDNN is TensorFlow's x86 path")
def test_the_tests_compute_on_the_kernels_the_stages_use():
    assert hardware.Machine.detect().onednn == (os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1")


def test_tensorflow_start_up_notices_do_not_reach_stderr_but_real_output_does():
    code = (
        "import sys; from pipeline import errors, hardware, quiet_start; quiet_start.tensorflow(); "
        "import tensorflow as tf; tf.constant(1.0) + 1; print('stage output', file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert proc.stderr == "stage output\n"


def test_an_op_without_a_deterministic_gpu_kernel_ends_the_stage_with_one_line_saying_what_to_do():
    import tensorflow as tf

    def fit():
        raise tf.errors.UnimplementedError(
            None, None, "A deterministic GPU implementation of ScatterNd is not currently available.\nmore"
        )

    with pytest.raises(SystemExit) as stop:
        errors.run_stage("train_x", fit)
    message = str(stop.value.code)
    assert message.startswith("train_x: A deterministic GPU implementation of ScatterNd")
    assert "CUDA_VISIBLE_DEVICES=" in message and "\n" not in message


def test_user_errors_end_the_stage_with_one_line_and_bugs_keep_their_traceback():
    from pipeline.schema import ParamsError

    def bad_param():
        raise ParamsError("train_x.epochs: 0 is out of range; allowed from 1 to 1000")

    with pytest.raises(SystemExit) as stop:
        errors.run_stage("train_x", bad_param)
    assert stop.value.code == "train_x: train_x.epochs: 0 is out of range; allowed from 1 to 1000"

    def bug():
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        errors.run_stage("train_x", bug)


def test_start_prints_the_hardware_path_first_and_warns_of_emulated_bfloat16(capsys, monkeypatch):
    import keras
    import tensorflow as tf

    fabricated = machine(AVX2_ONLY)
    monkeypatch.setattr(hardware.Machine, "detect", classmethod(lambda cls: fabricated))
    threads = {}
    # Other tests have started TensorFlow in this process, which fixes its thread pools.
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads", lambda n: threads.update(intra=n))
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads", lambda n: threads.update(inter=n))
    try:
        strategy = hardware.start("train_x", "mixed_bfloat16")
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        assert strategy is tf.distribute.get_strategy()  # the default: one device
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert threads == {"intra": 2, "inter": 2}
    first, warning = capsys.readouterr().err.splitlines()
    assert first == (
        "train_x: CPU test CPU [avx2 fma], 2 threads; precision mixed_bfloat16 (as set in params.yaml); "
        "one device (distribute: none)"
    )
    assert warning.startswith("train_x: warning: precision mixed_bfloat16 on hardware without native bfloat16")


@pytest.mark.parametrize(
    "distribute, gpus, cpus, devices, why",
    [
        ("auto", 0, 1, None, "one device (auto: no GPU)"),
        ("auto", 1, 1, None, "one device (auto: one GPU)"),
        ("auto", 4, 1, ["/gpu:0", "/gpu:1", "/gpu:2", "/gpu:3"], "mirrored over 4 GPUs (auto)"),
        ("none", 4, 1, None, "one device (distribute: none)"),
        ("mirrored", 1, 2, ["/gpu:0"], "mirrored over 1 GPUs (mirrored)"),
        ("mirrored", 0, 2, ["/cpu:0", "/cpu:1"], "mirrored over 2 CPU devices (mirrored)"),
    ],
)
def test_distribute_mirrors_over_several_gpus_and_otherwise_uses_one_device(distribute, gpus, cpus, devices, why):
    assert hardware.choose_devices(distribute, gpus, cpus) == (devices, why)


def test_an_unknown_distribute_value_is_refused():
    with pytest.raises(ValueError, match="distribute: got 'tpu', allowed values: auto, none, mirrored"):
        hardware.choose_devices("tpu", 0, 1)
