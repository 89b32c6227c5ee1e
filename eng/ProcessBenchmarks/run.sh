#!/usr/bin/env bash
# Whole-process, side-by-side timing of `m2f eval` against the reference tools, as a user runs
# them: a new process each time, reference and ours alternating, RUNS times each (default 3),
# medians and ratios printed at the end. CI does not run this; it needs the reference tools.
#
# Reference tools (install OUTSIDE the repository; never commit them):
#   apt-get install -y python3 python3-numpy python3-pil python3-matplotlib cython3 python3-dev gcc
#   git clone https://github.com/cocodataset/panopticapi   /opt/bench-tools/panopticapi   # commit 7bb4655
#   git clone https://github.com/cocodataset/cocoapi       /opt/bench-tools/cocoapi       # commit 8c9bcc3
#   (cd /opt/bench-tools/cocoapi/PythonAPI && python3 setup.py build_ext --inplace)
# (pycocotools imports matplotlib at load time, hence python3-matplotlib; its np.float, gone since
# NumPy 1.24, is aliased to float by the driver below, which changes no number.)
#
# Environment:
#   PANOPTICAPI_DIR   the panopticapi checkout (required)
#   PYCOCOTOOLS_DIR   cocoapi/PythonAPI with the extension built in place (required)
#   PYTHON            the interpreter that has numpy and PIL (default /usr/bin/python3)
#   M2F               the m2f executable to time (default: published here into artifacts/process-bench/m2f,
#                     `dotnet publish -c Release -r linux-x64`, as the tool package ships it)
#   M2F_EVAL          the native m2f-eval to time (default: published here into artifacts/process-bench/m2f-eval,
#                     `dotnet publish src/Mask2Former.Eval -c Release -r linux-x64`: Native AOT, as its tool package ships it)
#   M2F_BEFORE        optional second m2f (e.g. one published before a change), timed in the same rounds
#   DATA              where the 2,000-pair set goes (default $TMPDIR/m2f-bench/eval-2000; generated once
#                     by eng/Benchmarks' EvaluationSet, the set of the in-process benchmarks)
#   RUNS              runs of each command (default 3)
#   THREADS           cores both sides may use (default 2: panopticapi's worker count is the CPU count)
#
# Usage: PANOPTICAPI_DIR=... PYCOCOTOOLS_DIR=... eng/ProcessBenchmarks/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${PANOPTICAPI_DIR:?set PANOPTICAPI_DIR to a panopticapi checkout (see this script's header)}"
: "${PYCOCOTOOLS_DIR:?set PYCOCOTOOLS_DIR to cocoapi/PythonAPI with the extension built (see this script's header)}"
PYTHON="${PYTHON:-/usr/bin/python3}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-2}"
DATA="${DATA:-${TMPDIR:-/tmp}/m2f-bench/eval-2000}"
export OMP_WAIT_POLICY=PASSIVE

if [[ -z "${M2F:-}" ]]; then
  out="$root/artifacts/process-bench/m2f"
  dotnet publish "$root/src/Mask2Former.Cli/Mask2Former.Cli.csproj" -c Release -r linux-x64 --self-contained false -o "$out" -v quiet -nologo >&2
  M2F="$out/m2f"
fi
if [[ -z "${M2F_EVAL:-}" ]]; then
  out="$root/artifacts/process-bench/m2f-eval"
  dotnet publish "$root/src/Mask2Former.Eval/Mask2Former.Eval.csproj" -c Release -r linux-x64 -o "$out" -v quiet -nologo >&2
  M2F_EVAL="$out/m2f-eval"
fi
dotnet run -c Release --project "$root/eng/Benchmarks" -- eval-set "$DATA" 2000 >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/pq.py" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from panopticapi.evaluation import pq_compute
d = sys.argv[2]
pq_compute(d + "/panoptic_gt.json", d + "/panoptic_pred.json", d + "/panoptic_gt", d + "/panoptic_pred")
PY
cat > "$work/coco.py" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
if not hasattr(np, "float"): np.float = float  # cocoapi 8c9bcc3 still uses the alias NumPy 1.24 removed
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
d, iou = sys.argv[2], sys.argv[3]
gt = COCO(d + "/instances_gt.json")
dt = gt.loadRes(d + "/detections_" + iou + ".json")
e = COCOeval(gt, dt, iou)
e.evaluate(); e.accumulate(); e.summarize()
PY

# One timed run: seconds of wall time of the whole process, output kept for the check below.
timed() {
  local log="$1"; shift
  local start end
  start=$(date +%s.%N)
  "$@" > "$log" 2>&1
  end=$(date +%s.%N)
  "$PYTHON" -c "print(f'{$end - $start:.3f}')"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# Median over the rounds of reference time / our time in the same round: a shared host drifts
# between rounds, and the two runs of one round are seconds apart.
round_ratio() { "$PYTHON" -c "import statistics,sys; r=[float(a)/float(b) for a,b in zip(sys.argv[1].split(), sys.argv[2].split())]; print(f'{statistics.median(r):.1f}')" "$1" "$2"; }

# panopticapi uses one worker process per CPU: pin both sides to THREADS cores.
cores="0-$((THREADS - 1))"
declare -A ref ours native before
echo "load before: $(uptime)"
"$M2F" --help > /dev/null  # page the tool's files in once, as for any installed tool
for run in $(seq 1 "$RUNS"); do
  ref[pq]+=" $(timed "$work/ref-pq.log" taskset -c "$cores" "$PYTHON" "$work/pq.py" "$PANOPTICAPI_DIR" "$DATA")"
  ours[pq]+=" $(timed "$work/ours-pq.log" taskset -c "$cores" "$M2F" eval panoptic --gt-json "$DATA/panoptic_gt.json" --gt-folder "$DATA/panoptic_gt" --pred-json "$DATA/panoptic_pred.json" --pred-folder "$DATA/panoptic_pred" --threads "$THREADS")"
  native[pq]+=" $(timed "$work/native-pq.log" taskset -c "$cores" "$M2F_EVAL" panoptic --gt-json "$DATA/panoptic_gt.json" --gt-folder "$DATA/panoptic_gt" --pred-json "$DATA/panoptic_pred.json" --pred-folder "$DATA/panoptic_pred" --threads "$THREADS")"
  for iou in bbox segm; do
    ref[$iou]+=" $(timed "$work/ref-$iou.log" taskset -c "$cores" "$PYTHON" "$work/coco.py" "$PYCOCOTOOLS_DIR" "$DATA" "$iou")"
    ours[$iou]+=" $(timed "$work/ours-$iou.log" taskset -c "$cores" "$M2F" eval instances --gt "$DATA/instances_gt.json" --results "$DATA/detections_$iou.json" --iou-type "$iou" --threads "$THREADS")"
    native[$iou]+=" $(timed "$work/native-$iou.log" taskset -c "$cores" "$M2F_EVAL" instances --gt "$DATA/instances_gt.json" --results "$DATA/detections_$iou.json" --iou-type "$iou" --threads "$THREADS")"
  done
  ours[help]+=" $(timed "$work/ours-help.log" taskset -c "$cores" "$M2F" --help)"
  if [[ -n "${M2F_BEFORE:-}" ]]; then
    before[pq]+=" $(timed "$work/before-pq.log" taskset -c "$cores" "$M2F_BEFORE" eval panoptic --gt-json "$DATA/panoptic_gt.json" --gt-folder "$DATA/panoptic_gt" --pred-json "$DATA/panoptic_pred.json" --pred-folder "$DATA/panoptic_pred" --threads "$THREADS")"
    for iou in bbox segm; do
      before[$iou]+=" $(timed "$work/before-$iou.log" taskset -c "$cores" "$M2F_BEFORE" eval instances --gt "$DATA/instances_gt.json" --results "$DATA/detections_$iou.json" --iou-type "$iou" --threads "$THREADS")"
    done
    before[help]+=" $(timed "$work/before-help.log" taskset -c "$cores" "$M2F_BEFORE" --help)"
  fi
  echo "run $run done: $(uptime)"
done

# The same numbers on both sides, or the timing means nothing.
ref_pq=$(grep -E '^All' "$work/ref-pq.log" | awk '{print $3, $4, $5}')
for side in ours native; do
  ours_pq=$(grep -E '^All' "$work/$side-pq.log" | awk '{print $3, $4, $5}')
  [[ "$ref_pq" == "$ours_pq" ]] || { echo "PQ differs: panopticapi '$ref_pq', $side '$ours_pq'" >&2; exit 1; }
  for iou in bbox segm; do
    diff <(grep -E 'Average (Precision|Recall)' "$work/ref-$iou.log") <(grep -E 'Average (Precision|Recall)' "$work/$side-$iou.log") > /dev/null \
      || { echo "$iou summary differs between pycocotools and $side" >&2; exit 1; }
  done
done

printf '\n%-34s %-30s %10s %-30s %10s %8s %8s\n' command "reference runs (s)" median "m2f runs (s)" median ratio "per round"
for key in pq bbox segm; do
  r=$(median ${ref[$key]}); o=$(median ${ours[$key]})
  case $key in pq) name="eval panoptic vs pq_compute";; *) name="eval instances $key vs COCOeval";; esac
  printf '%-34s %-30s %10s %-30s %10s %7.1fx %7sx\n' "$name" "${ref[$key]# }" "$r" "${ours[$key]# }" "$o" "$("$PYTHON" -c "print($r / $o)")" "$(round_ratio "${ref[$key]}" "${ours[$key]}")"
done
for key in pq bbox segm; do
  r=$(median ${ref[$key]}); o=$(median ${native[$key]})
  case $key in pq) name="m2f-eval panoptic (native)";; *) name="m2f-eval instances $key (native)";; esac
  printf '%-34s %-30s %10s %-30s %10s %7.1fx %7sx\n' "$name" "${ref[$key]# }" "$r" "${native[$key]# }" "$o" "$("$PYTHON" -c "print($r / $o)")" "$(round_ratio "${ref[$key]}" "${native[$key]}")"
done
printf '%-34s %-30s %10s %-30s %10s\n' "m2f --help" "" "" "${ours[help]# }" "$(median ${ours[help]})"
if [[ -n "${M2F_BEFORE:-}" ]]; then
  printf '\nM2F_BEFORE (%s), same rounds:\n' "$M2F_BEFORE"
  for key in pq bbox segm help; do
    b=$(median ${before[$key]})
    case $key in help) r="";; *) r="$("$PYTHON" -c "print(f'{$(median ${ref[$key]}) / $b:.1f}x')") vs reference, $(round_ratio "${ref[$key]}" "${before[$key]}")x per round";; esac
    printf '%-34s %-30s %10s %s\n' "$key" "${before[$key]# }" "$b" "$r"
  done
fi
echo "load after: $(uptime)"
