#!/usr/bin/env bash
# Executes a notebook top to bottom with papermill, in a virtualenv kept under the stack dir
# ($PEREGRINE_STACK_DIR, default ~/.cache/peregrine/stack). The venv is created once and rebuilt only when
# requirements.txt changes. Every file Jupyter, IPython and matplotlib write stays under the stack dir too.
#
#   notebooks/run.sh [--setup-only] [NOTEBOOK.ipynb [OUTPUT.ipynb [papermill options, e.g. -p model_name window]]]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stack=${PEREGRINE_STACK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/peregrine/stack}
home=$stack/notebooks
venv=$home/venv
export PIP_CACHE_DIR=$stack/pip-cache PIP_DISABLE_PIP_VERSION_CHECK=1
export JUPYTER_RUNTIME_DIR=$home/jupyter-runtime JUPYTER_DATA_DIR=$home/jupyter-data JUPYTER_CONFIG_DIR=$home/jupyter-config
export IPYTHONDIR=$home/ipython MPLCONFIGDIR=$home/matplotlib TMPDIR=$home/tmp
mkdir -p "$home" "$TMPDIR"

want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$venv/bin/papermill" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  echo "notebooks: creating $venv" >&2
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
  echo "$want" > "$venv/.requirements.sha256"
fi

if [ "${1:-}" = "--setup-only" ]; then exit 0; fi
input=${1:-$here/retraining.ipynb}
output=${2:-$home/out/$(basename "$input")}
shift $(( $# > 2 ? 2 : $# ))
mkdir -p "$(dirname "$output")"
# ipykernel's built-in "python3" kernel runs on the venv's interpreter when launched from it.
# Figures go beside the output notebook unless -p output_dir says otherwise (a later -p wins).
exec "$venv/bin/papermill" --kernel python3 --cwd "$here" "$input" "$output" -p output_dir "$(dirname "$output")" "$@"
