#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: runs a CPU miner under a miner's usual name and arguments (T1496.001).
# Inert: the "miner" hashes locally for four seconds on one core; the pool is never contacted.
cat > ./xmrig <<'MINER'
#!/bin/sh
exec python3 -c 'import hashlib,time
end = time.time() + 4
h = b"block"
while time.time() < end:
    h = hashlib.sha256(h).digest()
print("SANDTRAP-TEST-MALICIOUS hashes done")'
MINER
chmod +x ./xmrig
./xmrig -o stratum+tcp://pool.example-mining.test:3333 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A -p x --threads=1 --donate-level=1
exit 0
