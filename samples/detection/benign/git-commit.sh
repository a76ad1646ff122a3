#!/bin/sh
# Benign: initialises a repository, commits, tags and exports an archive of the tag.
set -eu
mkdir -p repo && cd repo
git init -q
git config user.name "Build Bot"
git config user.email "build@example.test"
echo "print('v1')" > app.py
git add app.py
git commit -qm "first version"
echo "print('v2')" > app.py
git commit -qam "second version"
git tag v2
git log --oneline | wc -l
git archive --format=tar.gz -o ../app-v2.tar.gz v2
