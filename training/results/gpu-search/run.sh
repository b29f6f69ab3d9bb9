#!/bin/bash
# Recipe search and learning curve on the lent GPU machine; results come back in $OUT/results.tar.
set -u
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD/.gpu/site:$PWD/src
tar -xJf .gpu/base.tar.xz -C /tmp || exit 4
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch,transformers,sklearn;print(torch.__version__,transformers.__version__,sklearn.__version__,torch.cuda.is_available())"
mkdir -p /tmp/res /tmp/logs
B="base_model=/tmp/base threads=1"
t0=$(date +%s)
python3 scripts/experiment.py --name smoke --fraction 0.03 --resamples 20 --results /tmp/smoke $B epochs=1 > /tmp/logs/smoke.log 2>&1 \
  || { tail -40 /tmp/logs/smoke.log; exit 5; }
echo "smoke ok in $(( $(date +%s) - t0 )) s"; cat /tmp/smoke/smoke.json | head -c 400; echo
run() { name=$1; shift; python3 scripts/experiment.py --name "$name" --resamples ${RES:-200} --results /tmp/res "$@" > /tmp/logs/$name.log 2>&1; echo "$name rc=$? at $(( $(date +%s) - t0 )) s"; }
run g-curve-25 --fraction 0.25 $B &
run g-curve-50 --fraction 0.5 $B &
run g-curve-75 --fraction 0.75 $B &
run g-default $B &
run g-seed14 $B seed=14 &
run g-seed15 $B seed=15 &
run g-freeze0 $B freeze_layers=0 &
run g-freeze3 $B freeze_layers=3 &
run g-ep16 $B epochs=16 patience=3 &
run g-freeze0-lr5e5 $B freeze_layers=0 learning_rate=5e-5 epochs=16 patience=3 &
run g-freeze0-decay $B freeze_layers=0 layer_lr_decay=0.8 epochs=16 patience=3 &
run g-bs32-lr3e4 $B batch_size=32 learning_rate=3e-4 &
pack() { tar -cf $OUT/results.tar -C /tmp res; tar -czf $OUT/logs.tgz -C /tmp logs; }
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do sleep 15; pack; done
pack; ls /tmp/res; echo "all done at $(( $(date +%s) - t0 )) s"
