#!/usr/bin/env python3
# Benign: merges default and user settings and saves them under the application's config directory.
import json
import os

defaults = {"theme": "light", "autosave": True, "recent": []}
user = {"theme": "dark"}
merged = {**defaults, **user}
directory = os.path.join(os.path.expanduser("~"), ".config", "notes-app")
os.makedirs(directory, exist_ok=True)
path = os.path.join(directory, "settings.json")
with open(path, "w") as out:
    json.dump(merged, out, indent=2)
with open(path) as src:
    print(json.load(src)["theme"])
