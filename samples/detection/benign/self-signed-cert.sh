#!/bin/sh
# Benign: makes a self-signed certificate for a local development server and prints its subject.
set -eu
mkdir -p certs
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=dev.example.test" \
  -keyout certs/dev.key -out certs/dev.crt 2>/dev/null
chmod 600 certs/dev.key
openssl x509 -in certs/dev.crt -noout -subject
