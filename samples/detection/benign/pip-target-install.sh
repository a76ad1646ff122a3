#!/bin/sh
# Benign: builds a wheel of a small package and installs it into a local directory without a venv.
set -eu
python3 - <<'PY'
import zipfile
files = {
    "greet/__init__.py": "def main():\n    print('greet 0.1')\n",
    "greet-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: greet\nVersion: 0.1\n",
    "greet-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = "".join(f"{name},,\n" for name in files) + "greet-0.1.dist-info/RECORD,,\n"
import os
os.makedirs("dist", exist_ok=True)
with zipfile.ZipFile("dist/greet-0.1-py3-none-any.whl", "w") as whl:
    for name, text in files.items():
        whl.writestr(name, text)
    whl.writestr("greet-0.1.dist-info/RECORD", record)
PY
python3 -m pip install -q --no-index --no-deps --disable-pip-version-check --target ./vendor dist/greet-0.1-py3-none-any.whl 2>/dev/null ||
  (mkdir -p vendor && cd vendor && python3 -m zipfile -e ../dist/greet-0.1-py3-none-any.whl .)
PYTHONPATH=./vendor python3 -c 'import greet; greet.main()'
