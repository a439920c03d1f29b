#!/bin/bash
# The class of tests/test_grade_pipeline.py (TestBadClass) in one checkout, with the CPU time of
# every process of the run (kernels the grader kills included) from a cgroup v1 cpuacct group.
# Root only. For a paired comparison, start it for two checkouts at the same moment:
#   git worktree add --detach /tmp/before dc16590; git worktree add --detach /tmp/now main
#   bash bench/bench_class_pair.sh /tmp/before before & bash bench/bench_class_pair.sh /tmp/now now &
# usage: bench_class_pair.sh CHECKOUT NAME   (the .venv of this checkout is used for both)
checkout=$1 d=$2
venv=$(cd "$(dirname "$0")/.." && pwd)/.venv
mkdir -p /sys/fs/cgroup/cpuacct/class-$d
echo $BASHPID > /sys/fs/cgroup/cpuacct/class-$d/cgroup.procs
cd "$checkout"
export PATH=$venv/bin:$PATH PYTHONPATH=$PWD/src TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0 \
  CUDA_VISIBLE_DEVICES=-1 KERAS_BACKEND=tensorflow PYDEVD_DISABLE_FILE_VALIDATION=1 JUPYTER_PLATFORM_DIRS=1
start=$(date +%s.%N); echo "start $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
c0=$(cat /sys/fs/cgroup/cpuacct/class-$d/cpuacct.usage)
python -m pytest -p no:xdist -p no:cacheprovider tests/test_grade_pipeline.py -k TestBadClass --durations=5 -q 2>&1 | tail -15
c1=$(cat /sys/fs/cgroup/cpuacct/class-$d/cpuacct.usage)
end=$(date +%s.%N)
echo "end $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 -c "print('wall %.1f s, cgroup CPU %.1f s' % ($end-$start, ($c1-$c0)/1e9))"
cat /sys/fs/cgroup/cpuacct/class-$d/cpuacct.stat
