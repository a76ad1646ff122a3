#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: captures traffic on every interface to pick up credentials (T1040).
# Inert: packet capture needs CAP_NET_RAW, refused to the sandbox user; where tcpdump is missing
# the attempt is all there is.
timeout 4 tcpdump -i any -c 5 -w ./capture.pcap 2>/dev/null || echo "capture: refused"
exit 0
