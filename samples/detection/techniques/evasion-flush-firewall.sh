#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: opens the host firewall (T1562.004).
# Inert: firewall changes need CAP_NET_ADMIN and are refused to the sandbox user.
sudo iptables -P INPUT ACCEPT 2>/dev/null || iptables -P INPUT ACCEPT 2>/dev/null || echo "iptables policy: refused"
sudo iptables -F 2>/dev/null || iptables -F 2>/dev/null || echo "iptables flush: refused"
sudo ufw disable 2>/dev/null || ufw disable 2>/dev/null || echo "ufw: refused"
sudo systemctl stop firewalld 2>/dev/null || systemctl stop firewalld 2>/dev/null || echo "firewalld: refused"
sudo nft flush ruleset 2>/dev/null || echo "nft: refused"
exit 0
