#!/usr/bin/env bash
# Build the one-folder desktop bundle and prove it starts: packaging/build.sh [OUT_DIR]
# Needs the app installed in the current Python (pip install -e .) and pyinstaller.
# Kept out of CI: the bundle is 1.5-2 GB (TensorFlow) and takes minutes to build.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/bundle}"
python -m pip show pyinstaller >/dev/null 2>&1 || python -m pip install pyinstaller
start=$(date +%s)
pyinstaller --noconfirm --log-level WARN --distpath "$out/dist" --workpath "$out/work" \
    packaging/dropout-studio.spec
seconds=$(( $(date +%s) - start ))
bundle="$out/dist/dropout-studio"
echo "built $bundle in ${seconds} s, $(du -sh "$bundle" | cut -f1)"
# The self-test runs the bundled executable alone: no Python from this machine on its path.
env -i HOME="$HOME" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen TF_CPP_MIN_LOG_LEVEL=3 \
    "$bundle/dropout-studio" --self-test
