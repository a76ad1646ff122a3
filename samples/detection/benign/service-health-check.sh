#!/bin/sh
# Benign: checks that the service's endpoints answer, as a deployment smoke test does.
for url in http://api.example.test/health http://status.example.test/ready https://www.example.test/; do
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url")
  echo "$url $code"
done
