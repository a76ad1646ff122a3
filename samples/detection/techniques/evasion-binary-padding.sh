#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: pads its payload so that its hash matches no blocklist (T1027.001).
# Inert: the payload prints a line and stays in the working directory.
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS padded payload\n' >./payload
dd if=/dev/zero bs=1 count=16 >>./payload 2>/dev/null
truncate -s +32 ./payload
sha256sum ./payload
exit 0
